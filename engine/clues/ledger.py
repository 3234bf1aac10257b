"""The clue ledger (问题线索台帐): a view over the `clue` process instances, never a second copy.

Each clue is one row from registration to close, and on through the rounds 回头看 reopens it for
(engine.clues.rounds: the row then shows the latest round, its number, and each round's result). Its
data come from the instance's workflow data (the frontier tasks' data while it runs, the workflow's
data once it ended), its stage from its open tasks and waiting timer, its handling mode
(提级/交叉/联合办理) from the triage's `handling_mode` (older clues: the `mode` of a reassignment's
event in their history).
No reporter identity is ever read here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from types import SimpleNamespace

import sqlalchemy as sa

from engine.clues import intake, rounds
from engine.db.transactions import read_transaction
from engine.errors import Invalid, Problem
from engine.org.people import department_names, staff_names
from engine.db.schema import clue_round, event, human_task, process_instance
from engine.deadlines.workdays import BEIJING
from engine.org.people import Principal
from engine.runtime import queries, recusal
from engine.text import Words

DISPOSALS = {"talk_inquiry": "谈话函询", "verify": "初步核实", "hold": "暂存待查", "close": "予以了结",
             "transfer": "移交", "report_up": "报告上级纪委"}
FORMS = {"none": "不予处理", "first": "第一种形态", "second": "第二种形态", "third": "第三种形态",
         "fourth": "第四种形态"}
CONCLUSIONS = {"substantiated": "反映属实", "partly": "部分属实", "unsubstantiated": "反映不实"}
# Handling modes (办理方式): the triage's `handling_mode`, each with steps of its own in the clue process
# (older clues: the `mode` of a reassignment's event, or the reason's prefix).
HANDLING_MODES = {"escalated": "提级办理", "cross": "交叉办理", "joint": "联合办理"}
# The stage a clue is in, by the element of its open task (or waiting timer).
STAGES = {
    "triage": "分析研判", "approve_office": "审批处置意见", "approve_leader": "领导小组审批",
    "inquiry": "谈话函询", "inquiry_reply": "等待函询回复", "evaluate": "函询情况评估",
    "verify_plan": "初步核实", "approve_plan": "初步核实", "gather_evidence": "初步核实", "verify_report": "初步核实",
    "hold_timer": "暂存待查", "transfer": "移交", "transfer_receipt": "等待接收回执",
    "outcome": "处理结果", "result_notice": "处理结果告知",
    "report_up": "报告上级纪委", "report_up_receipt": "等待上级纪委回执", "report_up_result": "等待上级纪委办理结果",
    "report_back": "待回复上级",
    "escalate_report": "提级报送上级纪委", "escalate_receipt": "等待上级纪委回执", "escalate_result": "上级纪委提级办理中",
    "cross_send": "移交交叉办理", "cross_receipt": "等待交叉办理回执", "cross_result": "交叉办理中",
    "joint_team": "组建联合办理组", "joint_result": "联合办理中",
}
STATUSES = {"open": "办理中", "closed": "已办结"}
# 可查性: the office's rating at triage of how far a clue can be verified (seed 002: "确定一批可查性较强…").
VERIFIABILITY = {"high": "可查性较强", "medium": "可查性一般", "low": "可查性较弱"}
NOTICE_ELEMENTS = ("acceptance_notice", "result_notice")


@dataclass(frozen=True)
class LedgerQuery:
    source: str | None = None
    status: str | None = None
    disposal: str | None = None
    department: str | None = None
    received_from: str | None = None
    received_to: str | None = None
    form: str | None = None             # a form of discipline (FORMS), for the dashboard's drill-down
    real_name: str | None = None        # "1": real-name reports only
    awaiting_higher: str | None = None  # "1": 待回复上级 — assigned clues whose result is still to be reported up

    @classmethod
    def parse(cls, args) -> "LedgerQuery":
        """From request arguments; bad values raise `Invalid` naming the field."""
        values, problems = {}, []
        for f in fields(cls):
            raw = (args.get(f.name) or "").strip()
            if raw:
                values[f.name] = raw[:64]
        q = cls(**values)
        if q.source and q.source not in intake.SOURCES:
            problems.append(Problem("未知的线索来源", field="source"))
        if q.status and q.status not in STATUSES:
            problems.append(Problem("未知的状态", field="status"))
        if q.disposal and q.disposal not in DISPOSALS:
            problems.append(Problem("未知的处置方式", field="disposal"))
        if q.form and q.form not in FORMS:
            problems.append(Problem("未知的处理形态", field="form"))
        if q.real_name and q.real_name != "1":
            problems.append(Problem("实名筛选只能为 1", field="real_name"))
        if q.awaiting_higher and q.awaiting_higher != "1":
            problems.append(Problem("待回复上级筛选只能为 1", field="awaiting_higher"))
        for name in ("received_from", "received_to"):
            value = getattr(q, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    problems.append(Problem("日期格式应为 2026-09-28", field=name))
        if problems:
            raise Invalid("筛选条件有误", problems)
        return q

    def matches(self, row: dict) -> bool:
        if self.source and row["source"] != self.source:
            return False
        if self.status and row["status"] != self.status:
            return False
        if self.disposal and row["disposal"] != self.disposal:
            return False
        if self.department and row["person_department"] != self.department:
            return False
        if self.form and row["discipline_form"] != self.form:
            return False
        if self.real_name and not row["real_name"]:
            return False
        if self.awaiting_higher and not row["report_back_due"]:
            return False
        if self.received_from and (row["received_on"] or "") < self.received_from:
            return False
        if self.received_to and (row["received_on"] or "") > self.received_to:
            return False
        return True


def clue_rows(conn, now: datetime, query: LedgerQuery | None = None, *, instance_ids=None,
              as_of: datetime | None = None, viewer: Principal | None = None) -> list[dict]:
    """Every clue (or the given ones), oldest first, as ledger rows; without those `viewer` is
    recused from (回避: no row, no count), when given.

    `as_of`: the ledger as it stood at that moment (a report's cut-off): clues registered before it,
    closed if they ended before it, their data as of their last task completed before it, their
    tasks open unless completed before it."""
    columns = (process_instance.c.id, process_instance.c.business_key, process_instance.c.status,
               process_instance.c.started_at, process_instance.c.ended_at)
    # one line per clue: a round reopened by 回头看 is shown on its first round's line
    q = sa.select(*columns).where(process_instance.c.process_key == intake.PROCESS_KEY,
                                  process_instance.c.id.not_in(rounds.later_rounds()))
    if instance_ids is not None:
        wanted = list(instance_ids)
        q = q.where(sa.or_(process_instance.c.id.in_(wanted), process_instance.c.id.in_(
            sa.select(clue_round.c.line_id).where(clue_round.c.instance_id.in_(wanted)))))
    if as_of is not None:
        q = q.where(process_instance.c.started_at < as_of)
    if viewer is not None:
        q = q.where(recusal.not_excluded(process_instance.c.id, viewer.username, sorted(viewer.roles) or [""]))
    instances = conn.execute(q.order_by(process_instance.c.started_at, process_instance.c.id)).all()
    if as_of is not None:
        instances = [_instance_as_of(i, as_of) for i in instances]
    if not instances:
        return []
    later = rounds.rounds_of(conn, [i.id for i in instances], before=as_of)
    round_ids = [r.instance_id for rs in later.values() for r in rs]
    if viewer is not None and round_ids:
        # kept out of any round (a conflict declared in round 2): kept out of the line
        out = recusal.excluded_instances(conn, viewer, round_ids)
        instances = [i for i in instances if not any(r.instance_id in out for r in later.get(i.id, []))]
    by_id = {i.id: i for i in instances}
    if round_ids:
        for r in conn.execute(sa.select(*columns).where(process_instance.c.id.in_(round_ids))):
            by_id[r.id] = _instance_as_of(r, as_of) if as_of is not None else r
    ids = list(by_id)
    data = queries.instance_data(conn, ids, until=as_of)
    waiting = {} if as_of is not None else queries.waiting_elements(conn, ids)
    tasks: dict[str, list] = {}
    tq = (sa.select(human_task.c.instance_id, human_task.c.element_id, human_task.c.name, human_task.c.status,
                    human_task.c.due_at, human_task.c.completed_at, human_task.c.assignee, human_task.c.completed_by)
          .where(human_task.c.instance_id.in_(ids)).order_by(human_task.c.created_at, human_task.c.id))
    if as_of is not None:
        tq = tq.where(human_task.c.created_at < as_of, human_task.c.status != "cancelled")
    for t in conn.execute(tq):
        if as_of is not None:
            done = t.completed_at is not None and t.completed_at < as_of
            t = SimpleNamespace(**dict(t._mapping, status="completed" if done else "open",
                                       completed_by=t.completed_by if done else None))
        tasks.setdefault(t.instance_id, []).append(t)
    modes: dict[str, list[str]] = {}
    mq = (sa.select(event.c.instance_id, event.c.data_json)
          .where(event.c.chain.in_(ids), event.c.type == "task_reassigned").order_by(event.c.seq))
    if as_of is not None:
        mq = mq.where(event.c.at < as_of)
    for e in conn.execute(mq):
        moved = json.loads(e.data_json)
        reason = moved.get("reason") or ""
        for code, label in HANDLING_MODES.items():
            # the mode is event data; reassignments recorded before it was read the reason's prefix
            if (moved.get("mode") == code or reason.startswith(label)) and label not in modes.get(e.instance_id, []):
                modes.setdefault(e.instance_id, []).append(label)
    rows = []
    today = now.astimezone(BEIJING).date()
    for i in instances:
        def row_of(x):
            return _row(x, data.get(x.id, {}), tasks.get(x.id, []), waiting.get(x.id, []), modes.get(x.id, []),
                        now, today)
        row = row_of(i)
        if later.get(i.id):
            later_rows = [row_of(by_id[r.instance_id]) for r in later[i.id] if r.instance_id in by_id]
            row = rounds.line_row(row, later_rows, later[i.id])
        if query is None or query.matches(row):
            rows.append(row)
    rows.sort(key=lambda r: (r["received_on"], r["business_key"] or ""))
    names = staff_names(conn, {r["handler"] for r in rows if r["handler"]})
    for r in rows:
        r["handler_name"] = names.get(r["handler"], r["handler"]) if r["handler"] else None
    return rows


def _instance_as_of(i, as_of: datetime):
    """An instance row as it stood at `as_of`: still running if it ended later."""
    ended = i.ended_at is not None and i.ended_at < as_of
    return SimpleNamespace(**dict(i._mapping, status=i.status if ended else "active",
                                  ended_at=i.ended_at if ended else None))


def _row(i, d: dict, tasks: list, waiting: list[str], modes: list[str], now: datetime, today: date) -> dict:
    if d.get("handling_mode") in HANDLING_MODES and HANDLING_MODES[d["handling_mode"]] not in modes:
        modes = [HANDLING_MODES[d["handling_mode"]], *modes]
    open_tasks = [t for t in tasks if t.status == "open"]
    closed = i.status in ("completed", "cancelled")
    received = _date(d.get("received_on")) or i.started_at.astimezone(BEIJING).date()
    ended = i.ended_at.astimezone(BEIJING).date() if i.ended_at else today
    stage_elements = [t.element_id for t in open_tasks if t.element_id != "acceptance_notice"] + \
        [w for w in waiting if w in STAGES]
    if closed:
        stage = Words("已办结")
    elif stage_elements:
        named = {STAGES.get(e, e): e in STAGES for e in stage_elements}       # each stage once
        stage = Words.joined([Words(label) if known else label for label, known in named.items()], "、")
    elif open_tasks:
        stage = Words("受理告知")
    else:
        stage = Words("办理中")
    overdue = [t.name for t in open_tasks if t.due_at is not None and t.due_at < now]
    report_back = next((t for t in open_tasks if t.element_id == "report_back"), None)
    # 承办人 (seed 002: "专人管理"): who holds the clue's open work, else who last did a step of it
    work = [t for t in tasks if t.element_id not in NOTICE_ELEMENTS]
    holder = next((t.assignee for t in reversed(work) if t.status == "open" and t.assignee), None)
    handler = holder or next((t.completed_by for t in reversed(work) if t.completed_by), None)
    return {
        "instance_id": i.id, "current_instance_id": i.id, "round": 1, "rounds": [],
        "business_key": i.business_key, "status": "closed" if closed else "open",
        "stage": stage, "person_name": d.get("person_name"), "person_username": d.get("person_username"),
        "person_position": d.get("person_position"),
        "person_department": d.get("person_department"),
        "person_department_name": d.get("person_department_name") or d.get("person_department"),
        "position_level": d.get("position_level"), "party_member": d.get("party_member"),
        "public_employee": d.get("public_employee"),
        "summary": d.get("summary"), "source": d.get("source"), "source_name": intake.SOURCES.get(d.get("source"), ""),
        "channel_name": intake.CHANNELS.get(d.get("channel"), ""), "received_on": received.isoformat(),
        "real_name": bool(d.get("real_name")), "disposal": d.get("disposal"),
        "disposal_name": DISPOSALS.get(d.get("disposal"), ""),
        "discipline_form": d.get("discipline_form"), "admin_penalty": d.get("admin_penalty"), "result": disposal_and_result(d, modes),
        "handling_modes": modes, "days_open": (ended - received).days, "overdue": overdue,
        "feedback": _feedback(d, tasks, now), "reply_late": d.get("reply_late"),
        "campaign": d.get("campaign"), "jurisdiction": d.get("jurisdiction") or "hospital",
        "report_back_due": report_back.due_at.isoformat() if report_back is not None and report_back.due_at else
        ("—" if report_back is not None else None),
        "reported_back_on": d.get("reported_back_on"), "handler": handler,
        "handling_mode": d.get("handling_mode") if d.get("handling_mode") in HANDLING_MODES else None,
        "handled_by": d.get("mode_handled_by"), "mode_sent_on": d.get("mode_sent_on"),
        "mode_receipt_on": d.get("mode_receipt_on"), "mode_result_on": d.get("mode_result_on"),
        "verifiability": d.get("verifiability"), "verifiability_name": VERIFIABILITY.get(d.get("verifiability"), ""),
        "closed_on": i.ended_at.astimezone(BEIJING).date().isoformat() if closed and i.ended_at else None,
    }


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def disposal_and_result(d: dict, modes: list[str] = ()) -> Words:
    """附件3's 处置方式及结果, in words: the disposal, what it found, and the outcome (Chinese text, which
    a page says in the reader's language: `Words`)."""
    parts: list = []
    if d.get("disposal"):
        parts.append(Words(DISPOSALS[d["disposal"]]) if d["disposal"] in DISPOSALS else d["disposal"])
    if modes:
        parts.append(Words.joined([Words(m) for m in modes], "、"))
    if d.get("disposal") == "talk_inquiry" and d.get("inquiry_method"):
        parts.append(Words("谈话" if d["inquiry_method"] == "talk" else "函询"))
        if d.get("reply_late"):
            parts.append(Words("逾期回复"))
    if d.get("evaluation"):
        parts.append(Words({"close": "说明清楚，予以了结", "remind": "提醒谈话", "again": "再次函询"}
                           .get(d["evaluation"], "转初步核实")))
    if d.get("verify_conclusion"):
        conclusion = d["verify_conclusion"]
        parts.append(Words(CONCLUSIONS[conclusion]) if conclusion in CONCLUSIONS else conclusion)
    if d.get("disposal") == "close" and d.get("closed_reason"):
        parts.append(Words("了结理由：%(reason)s", reason=d["closed_reason"]))
    if d.get("disposal") == "report_up":
        parts.append(Words("报送%(to)s", to=d["sent_to"]) if d.get("sent_to") else Words("待报送"))
        if d.get("up_receipt_on"):
            parts.append(Words("已回执"))
        if d.get("up_result"):
            parts.append(Words("上级纪委办理结果：%(result)s", result=d["up_result"]))
    if d.get("reported_back_on"):
        parts.append(Words("已于%(day)s向上级纪委报告办理结果", day=d["reported_back_on"]))
    if d.get("handling_mode") in HANDLING_MODES and d.get("mode_handled_by"):
        verb = {"escalated": "报送", "cross": "移交"}.get(d["handling_mode"], "联合")
        if d.get("mode_team"):
            parts.append(Words(verb + "%(by)s（%(team)s）", by=d["mode_handled_by"], team=d["mode_team"]))
        else:
            parts.append(Words(verb + "%(by)s", by=d["mode_handled_by"]))
        if d.get("mode_receipt_on"):
            parts.append(Words("已回执"))
        if d.get("mode_result"):
            parts.append(Words("办理结果：%(result)s", result=d["mode_result"]))
    if d.get("disposal") == "transfer" and d.get("receiving_authority"):
        parts.append(Words("移交%(to)s（已回执）" if d.get("receipt_on") else "移交%(to)s", to=d["receiving_authority"]))
    if d.get("discipline_form"):
        form = Words(FORMS[d["discipline_form"]]) if d["discipline_form"] in FORMS else d["discipline_form"]
        parts.append(Words("%(form)s（%(measure)s）", form=form, measure=d["measure"]) if d.get("measure") else form)
    if d.get("admin_penalty"):
        parts.append(Words("行政处罚：%(penalty)s", penalty=d["admin_penalty"]))
    if d.get("publicized"):
        parts.append(Words("已通报"))
    if d.get("rules_improved"):
        parts.append(Words("完善制度%(n)s项", n=d["rules_improved"]))
    return Words.joined(parts, "；")


def _feedback(d: dict, tasks: list, now: datetime) -> dict:
    """Where telling the reporter stands: `state` is none (not required), accept_due, accepted,
    result_due or told; `overdue` when the open notice is past its deadline."""
    if not d.get("feedback_required"):
        return {"state": "none", "overdue": False}
    notices = {t.element_id: t for t in tasks if t.element_id in NOTICE_ELEMENTS}
    result, accept = notices.get("result_notice"), notices.get("acceptance_notice")
    if result is not None and result.status == "completed":
        return {"state": "told", "overdue": False}
    if result is not None:
        return {"state": "result_due", "overdue": result.due_at is not None and result.due_at < now}
    if accept is not None and accept.status == "completed":
        return {"state": "accepted", "overdue": False}
    return {"state": "accept_due", "overdue": accept is not None and accept.due_at is not None and accept.due_at < now}


def feedback_rate(rows: list[dict]) -> dict:
    """The office's figures for real-name reporters (100% must be told): acceptance notices given of
    those registered, and results told of those whose handling reached its result."""
    real = [r for r in rows if r["real_name"]]
    accepted = [r for r in real if r["feedback"]["state"] in ("accepted", "result_due", "told")]
    with_result = [r for r in real if r["feedback"]["state"] in ("result_due", "told")]
    told = [r for r in real if r["feedback"]["state"] == "told"]
    def pct(a, b):
        return None if not b else round(100 * len(a) / len(b), 1)
    return {"real_name": len(real), "accepted": len(accepted), "accepted_pct": pct(accepted, real),
            "with_result": len(with_result), "told": len(told), "told_pct": pct(told, with_result)}


def feedback_texts(conn, instance_id: str) -> list[dict]:
    """What a reporter may read with their query code: the feedback texts of the completed notices,
    and nothing else (from the `task_completed` events, which hold what was submitted)."""
    out = []
    for e in conn.execute(sa.select(event.c.element_id, event.c.at, event.c.data_json)
                          .where(event.c.chain == instance_id, event.c.type == "task_completed",
                                 event.c.element_id.in_(NOTICE_ELEMENTS)).order_by(event.c.seq)):
        submitted = json.loads(e.data_json).get("data") or {}
        prefix = "accept" if e.element_id == "acceptance_notice" else "result"
        text = submitted.get(f"{prefix}_feedback")
        if text:
            out.append({"kind": e.element_id, "text": text, "on": submitted.get(f"{prefix}_notified_on")})
    return out


# --- the ledger page's read models --------------------------------------------------------------------

def rows(engine, viewer: Principal, query: LedgerQuery | None = None) -> list[dict]:
    """`clue_rows` now as `viewer` may see them, in a read of its own (the Excel export)."""
    with read_transaction(engine.db) as conn:
        return clue_rows(conn, engine.clock.now(), query, viewer=viewer)


def page(engine, viewer: Principal, query: LedgerQuery) -> tuple[list[dict], dict, dict[str, str]]:
    """The ledger page in one read: the rows the query selects, the feedback rate over every clue
    (each as `viewer` may see them), and the departments' names."""
    now = engine.clock.now()
    with read_transaction(engine.db) as conn:
        return (clue_rows(conn, now, query, viewer=viewer), feedback_rate(clue_rows(conn, now, viewer=viewer)),
                department_names(conn))
