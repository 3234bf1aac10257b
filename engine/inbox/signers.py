"""加签 (add a signer) without editing the BPMN: the holder of a task adds a colleague among the
candidates the task allows (`addSignerCandidates`: role codes, comma-separated), with a reason —

- 前加签 (`before`): the colleague signs first; the task cannot be completed while a signature
  added before is pending;
- 后加签 (`after`): the holder submits the form now; it is kept until the colleague signs, and the
  signature completes the task with it (a refusal gives the task back to the holder).

Each addition and each signature is an event in the instance's history; the signatures are shown
on the task page, and a 后加签 signature goes into the task's data (`added_signatures`) for the next
step. A colleague never signs their own task, nor twice."""
from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa

from engine.bpmn import spiff
from engine.db.schema import added_signer
from engine.db.transactions import read_transaction
from engine.deadlines import notifications
from engine.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.inbox import drafts
from engine.inbox.tasks import viewable
from engine.org.people import Principal, principal
from engine.permissions import require_work
from engine.runtime import notes, separation
from engine.runtime.views import HumanTask

POSITIONS = ("before", "after")
MAX_TEXT = 2000


def candidate_roles(live, task_id: str) -> list[str]:
    return roles_of(spiff.task_properties(live.wf.get_task_from_id(UUID(task_id))))


def roles_of(properties: dict) -> list[str]:
    """The roles a step's `addSignerCandidates` names (none: 加签 is not allowed there)."""
    text = str(properties.get("addSignerCandidates", ""))
    return [r.strip() for r in text.split(",") if r.strip()]


_PENDING = sa.select(added_signer).where(added_signer.c.task_id == sa.bindparam("p_task"),
                                         added_signer.c.status == "pending")   # built once


def pending_before(conn, task_id: str) -> list:
    return conn.execute(_PENDING, {"p_task": task_id}).all()


def of_task(engine, task_id: str) -> list[dict]:
    with read_transaction(engine.db) as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(added_signer).where(added_signer.c.task_id == task_id).order_by(added_signer.c.id))]


def add(engine, p: Principal, task_id: str, signer: str | None, position: str | None, reason: str | None,
        raw=None) -> dict:
    """Add `signer` before or after the holder's own step (`raw`: the holder's form, for `after`)."""
    from engine.inbox import submission         # (submission asks this module before completing)
    task = viewable(engine, p, task_id)
    require_work(p, task)
    signer, reason, position = (signer or "").strip(), (reason or "").strip(), (position or "").strip()
    problems = []
    if position not in POSITIONS:
        problems.append(Problem("请选择前加签或后加签", field="position", code="required"))
    if not reason:
        problems.append(Problem("请填写加签原因", field="reason", code="required"))
    elif len(reason) > MAX_TEXT:
        problems.append(Problem(f"不能超过 {MAX_TEXT} 字", field="reason", code="too_long"))
    with read_transaction(engine.db) as conn:
        who = principal(conn, signer) if signer else None
        if any(r.signer == signer for r in pending_before(conn, task_id)):
            problems.append(Problem("此人已在加签中", field="signer", code="duplicate"))
    if who is None:
        problems.append(Problem("请选择在职的同事", field="signer", code="unknown_staff"))
    elif who.username == p.username:
        problems.append(Problem("不能给自己加签", field="signer", code="self"))
    stored = checked = None
    if position == "after":
        definition = engine.forms.for_task(task)
        with submission.lookups(engine.db, task.instance_id) as found:
            checked = submission.validate(definition, raw, None, found, p.roles)
        if checked.errors or problems:      # the form comes back as typed, with every fault at its field
            raise _kept(checked, problems)
        stored = json.dumps(checked.data, ensure_ascii=False, default=str)
    if problems:
        raise Invalid("加签信息有误", problems)

    def write(conn, live, row) -> None:
        roles = candidate_roles(live, task_id)
        if not roles:
            raise Conflict("此步骤不允许加签", code="not_allowed")
        if not who.has(*roles):
            raise Invalid("加签人不在此步骤允许的范围内",
                          [Problem("加签人不在此步骤允许的范围内", field="signer", code="not_a_candidate")])
        if row.confidential and not who.has(*row.confidential.split(",")):
            raise Invalid("此流程保密", [Problem(f"此流程保密，不能加签 {who.name}", field="signer",
                                                 code="confidential")])
        try:            # the signer co-signs the step: recusal and separation of duties apply to them too
            separation.check_performer(conn, live, live.wf.get_task_from_id(UUID(task_id)), who.username,
                                       target=True)
        except Forbidden as exc:
            raise Invalid("不能加签此人", [Problem(exc.message, field="signer", code="separation")]) from None
        now = engine.clock.now()
        conn.execute(added_signer.insert().values(
            instance_id=live.id, task_id=task_id, signer=who.username, position=position, added_by=p.username,
            reason=reason, status="pending", submission_json=stored, created_at=now))
        notifications.add(conn, kind="signature", now=now, user=who.username, instance_id=live.id, task_id=task_id,
                          title=f"加签：{row.name}", body=f"{p.name}请你加签「{row.name}」：{reason}",
                          confidential=row.confidential is not None, link="/signatures")
    try:
        engine.note(task_id, user=p.username, event_type=notes.SIGNER_ADDED, open_only=True, within=write,
                    data={"signer": who.username, "position": position, "reason": reason})
    except Invalid as exc:
        if checked is None:
            raise
        raise _kept(checked, exc.problems) from None
    return {"task_id": task_id, "signers": of_task(engine, task_id)}


def _kept(checked, problems: list[Problem]):
    """A 后加签 refused: the holder's form as typed, with the form's and the 加签's faults at their fields."""
    from engine.forms.submission import Submission
    from engine.inbox.submission import FormRejected
    errors = {**checked.errors, **{p.field or "_form": p.message for p in problems}}
    rejected = FormRejected(Submission({}, {}, errors, checked.values))
    rejected.problems = list(problems) + [p for p in rejected.problems if p.field not in {q.field for q in problems}]
    return rejected


def mine(engine, p: Principal) -> list[dict]:
    """The signatures `p` is asked for, pending first."""
    with read_transaction(engine.db) as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(added_signer).where(added_signer.c.signer == p.username)
            .order_by(added_signer.c.status != "pending", added_signer.c.id.desc()).limit(200))]
    return [{**r, "task": engine.task(r["task_id"])} for r in rows]


@dataclass
class SignaturePage:
    signature: dict
    task: HumanTask
    instance: object
    definition: dict | None


def _own(engine, p: Principal, signature_id: int):
    with read_transaction(engine.db) as conn:
        row = conn.execute(sa.select(added_signer).where(added_signer.c.id == signature_id)).one_or_none()
    if row is None or row.signer != p.username:
        raise NotFound(f"加签 {signature_id} 不存在", field="signature_id")
    return row


def page(engine, p: Principal, signature_id: int) -> SignaturePage:
    row = _own(engine, p, signature_id)
    task = engine.task(row.task_id)
    return SignaturePage(dict(row._mapping), task, engine.show(row.instance_id), engine.forms.for_task(task))


def sign(engine, p: Principal, signature_id: int, agree: bool, opinion: str | None) -> dict:
    """Sign (agree or not, with an opinion). A 后加签 agreement completes the task with the holder's
    kept submission; a refusal gives the task back to the holder."""
    row = _own(engine, p, signature_id)
    opinion = (opinion or "").strip()
    if row.status != "pending":
        raise Conflict("此加签已处理", code="already_signed")
    if len(opinion) > MAX_TEXT:
        raise Invalid("意见过长", [Problem(f"不能超过 {MAX_TEXT} 字", field="opinion", code="too_long")])
    if not agree and not opinion:
        raise Invalid("不同意时请写明意见", [Problem("不同意时请写明意见", field="opinion", code="required")])
    now = engine.clock.now()

    def write(conn, live, _row) -> None:
        done = conn.execute(added_signer.update().where(added_signer.c.id == signature_id,
                                                        added_signer.c.status == "pending")
                            .values(status="signed" if agree else "refused", agree=agree, opinion=opinion,
                                    signed_at=now))
        if done.rowcount != 1:
            raise Conflict("此加签已处理", code="already_signed")
        notifications.add(conn, kind="signature", now=now, user=row.added_by, instance_id=live.id,
                          task_id=row.task_id, title=f"加签已{'同意' if agree else '不同意'}",
                          body=f"{p.name}：{opinion or '同意'}", confidential=_row.confidential is not None)
    engine.note(row.task_id, user=p.username, event_type=notes.SIGNER_SIGNED, open_only=True, within=write,
                data={"signature": signature_id, "agree": agree, "opinion": opinion, "position": row.position})
    if row.position == "after" and agree and row.submission_json:
        data = json.loads(row.submission_json)
        data["added_signatures"] = [{"signer": r["signer"], "agree": r["agree"], "opinion": r["opinion"]}
                                    for r in of_task(engine, row.task_id) if r["status"] in ("signed", "refused")]
        engine.complete_task(row.task_id, user=row.added_by, data=data, also=[drafts.discarding(row.task_id)])
    return {"task_id": row.task_id, "signers": of_task(engine, row.task_id)}
