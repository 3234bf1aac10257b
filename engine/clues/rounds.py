"""回头看 closes the loop: a review finding reopens a clue for a new disposal round.

A closed clue's review (`clue_review`) that found a problem, confirmed by the office's head, lets
the discipline office reopen the clue. The new round is a new instance of the clue process,
started at triage (分析研判, due one month from the reopening) with the clue's registration data;
it stays on the SAME ledger line: the `clue_round` table ties it to the line's first instance,
and the ledger shows the line's latest round, its number, and every earlier round's result. The
earlier rounds are not touched: their instances, data and hash chains stay as they were.

What was decided and why is in the chain: the new round's `instance_started` event carries the
line, the round number, the review, the reason and who reopened it (its actor). Everyone kept out
of an earlier round (回避) is kept out of the new one from its first moment (the rows are copied in
the starting transaction, and named in that event).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from engine.clues import intake
from engine.db.schema import clue_round, process_instance, recusal
from engine.db.transactions import read_transaction
from engine.deadlines.workdays import BEIJING
from engine.errors import Conflict, Invalid, NotFound, Problem
from engine.org.people import Principal
from engine.permissions import may_handle_clues, require
from engine.runtime import queries
from engine.text import Words

# What a new round takes from the clue as registered, besides intake.CLUE_FIELDS (the rest is decided again).
CARRIED = ("conflicts", "office_department", "person_department_name", "feedback_required", "withheld_from_roles",
           "jurisdiction")


@dataclass(frozen=True)
class Round:
    """One disposal round of a ledger line."""
    number: int
    instance_id: str
    review_instance_id: str | None = None
    reason: str | None = None
    reopened_by: str | None = None
    reopened_on: str | None = None


def line_of(conn, instance_id: str) -> str:
    """The ledger line an instance of the clue process belongs to (its first round's instance)."""
    found = conn.execute(sa.select(clue_round.c.line_id).where(clue_round.c.instance_id == instance_id)).scalar()
    return found or instance_id


def rounds_of(conn, line_ids, before=None) -> dict[str, list[Round]]:
    """Every line's rounds after the first, in order (line id -> rounds 2, 3…); `before`: only those
    reopened before that moment."""
    ids = sorted(set(line_ids))
    found: dict[str, list[Round]] = {}
    for i in range(0, len(ids), 500):
        q = sa.select(clue_round).where(clue_round.c.line_id.in_(ids[i:i + 500]))
        if before is not None:
            q = q.where(clue_round.c.reopened_at < before)
        for r in conn.execute(q.order_by(clue_round.c.line_id, clue_round.c.round)):
            found.setdefault(r.line_id, []).append(Round(r.round, r.instance_id, r.review_instance_id, r.reason,
                                                         r.reopened_by, _day(r.reopened_at)))
    return found


def line_row(first: dict, later: list[dict], info: list[Round]) -> dict:
    """The line of a clue reopened by 回头看: its latest round as the row (status, stage, result,
    tasks), on the first round's line (instance, business key, date received), with every round's
    result kept in `rounds` and the round's number in `round`."""
    if not later:
        return first
    current = later[-1]
    rounds_ = [{"round": 1, "instance_id": first["instance_id"], "result": first["result"],
                "closed_on": first["closed_on"], "reopened_on": None, "reason": None}]
    for r, meta in zip(later, info):
        rounds_.append({"round": meta.number, "instance_id": r["instance_id"], "result": r["result"],
                        "closed_on": r["closed_on"], "reopened_on": meta.reopened_on, "reason": meta.reason})
    return {**current, "instance_id": first["instance_id"], "business_key": first["business_key"],
            "received_on": first["received_on"], "current_instance_id": current["instance_id"],
            "round": len(rounds_), "rounds": rounds_,
            "handling_modes": list(dict.fromkeys([*first["handling_modes"], *current["handling_modes"]])),
            "result": rounds_text(rounds_)}


def rounds_text(rounds_: list[dict]) -> Words:
    """附件3's 处置方式及结果 of a reopened clue: each round's result, the earlier ones kept (`Words`)."""
    parts = []
    for r in rounds_:
        result = r["result"] or Words("办理中")
        parts.append(Words("第%(n)s轮：%(result)s", n=r["round"], result=result) if r["round"] == 1 else
                     Words("第%(n)s轮（%(day)s回头看重新处置）：%(result)s", n=r["round"], day=r["reopened_on"],
                           result=result))
    return Words.joined(parts, "\n")


def later_rounds() -> sa.Select:
    """SQL: the instances that are a line's later round (not lines of their own)."""
    return sa.select(clue_round.c.instance_id)


def reviews_that_may_reopen(conn, line_id: str) -> list[dict]:
    """The line's completed reviews that found a problem, confirmed, not yet used to reopen it."""
    used = set(conn.execute(sa.select(clue_round.c.review_instance_id)
                            .where(clue_round.c.line_id == line_id)).scalars())
    ids = [r.id for r in conn.execute(sa.select(process_instance.c.id).where(
        process_instance.c.process_key == intake.REVIEW_PROCESS_KEY, process_instance.c.status == "completed"))
        if r.id not in used]
    out = []
    for iid, d in queries.instance_data(conn, ids).items():
        if d.get("clue_instance_id") == line_id and d.get("review_problem") is True and d.get("review_confirmed"):
            out.append({"instance_id": iid, "findings": d.get("review_findings"),
                        "follow_up": d.get("review_follow_up")})
    return sorted(out, key=lambda r: r["instance_id"])


def reopen(engine, principal: Principal, line_id: str, review_instance_id: str, reason: str):
    """Start the line's next disposal round from a review's finding (the office only). `Invalid`
    naming the field when the clue is still being handled, the review found nothing or was already
    used, or no reason is given."""
    require(may_handle_clues(principal), "只有纪检监察室可以根据回头看重新处置线索")
    reason = (reason or "").strip()
    with read_transaction(engine.db) as conn:
        line_id = line_of(conn, line_id)
        found = intake.clue(engine, line_id, conn, principal)
        eligible = {r["instance_id"] for r in reviews_that_may_reopen(conn, line_id)}
        earlier = rounds_of(conn, [line_id]).get(line_id, [])
        latest = earlier[-1].instance_id if earlier else line_id
        data = queries.instance_data(conn, [latest]).get(latest)
        kept_out = [dict(r._mapping) for r in conn.execute(
            sa.select(recusal.c.username, recusal.c.role, recusal.c.kind, recusal.c.reason)
            .where(recusal.c.instance_id.in_([line_id, *(r.instance_id for r in earlier)])))]
    problems = []
    if found["status"] != "closed":
        problems.append(Problem("该线索仍在办理中，办结后才能根据回头看重新处置", field="review_instance_id"))
    if review_instance_id not in eligible:
        problems.append(Problem("请选择一项发现问题并经审核同意、尚未用于重新处置的回头看", field="review_instance_id"))
    if not reason:
        problems.append(Problem("请填写重新处置的理由", field="reason"))
    elif len(reason) > 2000:
        problems.append(Problem("理由不能超过 2000 字", field="reason"))
    if problems:
        raise Invalid("不能重新处置该线索", problems)
    if data is None:
        raise NotFound(f"线索 {line_id} 不存在", field="instance_id")
    number = len(earlier) + 2
    now = engine.clock.now()
    today = intake.today(engine)
    carried = sorted({(r["username"] or "", r["role"] or "", r["kind"]) for r in kept_out})
    start = {"handling_mode": "self", "subject_in_leadership_group": False,    # clues from before these were data
             **{k: data.get(k) for k in (*intake.CLUE_FIELDS, *CARRIED) if k in data}}
    start["handling_mode"] = "self"         # who handles the new round is decided at its triage
    start.update(round_number=number, reopened_on=today, clue_line_id=line_id, review_instance_id=review_instance_id,
                 reopen_reason=reason, letter_received_on=None,
                 recusals_carried=[{"person": u or None, "role": r or None, "kind": k} for u, r, k in carried])

    def within(conn, instance_id):
        taken = conn.execute(sa.select(clue_round.c.instance_id).where(
            sa.or_(clue_round.c.review_instance_id == review_instance_id,
                   sa.and_(clue_round.c.line_id == line_id, clue_round.c.round == number)))).first()
        if taken is not None:
            raise Conflict("该线索刚被重新处置，请刷新页面", field="review_instance_id")
        conn.execute(clue_round.insert().values(instance_id=instance_id, line_id=line_id, round=number,
                                                review_instance_id=review_instance_id, reason=reason,
                                                reopened_by=principal.username, reopened_at=now))
        seen = set()
        for r in kept_out:
            key = (r["username"], r["role"])
            if key in seen:
                continue
            seen.add(key)
            conn.execute(recusal.insert().values(instance_id=instance_id, username=r["username"], role=r["role"],
                                                 kind=r["kind"], reason=f"round:{line_id}",
                                                 recorded_by=principal.username, created_at=now))

    return engine.start(intake.PROCESS_KEY, started_by=principal.username,
                        business_key=f"{found['business_key']}-{number}", data=start, within=within)


def _day(moment) -> str | None:
    return moment.astimezone(BEIJING).date().isoformat() if moment else None
