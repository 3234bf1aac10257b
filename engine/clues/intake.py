"""Registering a clue (问题线索受理登记) and the hint of possible duplicates.

A clue is an instance of the `clue` process. Its workflow data hold the person concerned (被反映人),
the summary, source (线索来源), channel and date received; the reporter's (举报人) name and contact
are split off here, before anything reaches the workflow, and stored encrypted by
`clues_confidential` in the same transaction that starts the instance.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from engine.inbox import attachments
from engine.clues import confidential
from engine.errors import Invalid, Problem
from engine.db.schema import department, staff, staff_role
from engine.deadlines.workdays import BEIJING

PROCESS_KEY = "clue"
REVIEW_PROCESS_KEY = "clue_review"

# The seven sources of seed 002's 附件3 and the channels of seeds 000/004, in the ledger's order.
SOURCES = {"petition": "信访举报", "accusation": "检举控告", "inspection": "巡视巡察",
           "assigned": "上级纪委监委交办", "audit": "审计发现", "law_enforcement": "政法机关移送",
           "self_found": "自行发现"}
CHANNELS = {"phone": "电话", "email": "电子邮件", "letter": "信件", "visit": "来访", "web": "网上举报",
            "survey": "出院满意度调查"}
# What the office's form holds that is workflow data (the reporter's identity is not).
CLUE_FIELDS = ("person_name", "person_position", "person_department", "position_level", "party_member",
               "summary", "source", "channel", "received_on", "real_name")
REPORTER_FIELDS = ("reporter_name", "reporter_contact")


@dataclass(frozen=True)
class Registered:
    instance_id: str
    business_key: str
    query_code: str | None = None       # shown once to a web reporter, never stored in clear


def office_department(conn) -> str | None:
    """The department where the discipline office works: the one most of its members belong to
    (its head approves the office's disposal opinions)."""
    row = conn.execute(sa.select(staff.c.department, sa.func.count().label("n"))
                       .join(staff_role, staff_role.c.username == staff.c.username)
                       .where(staff_role.c.role == "discipline_office", staff.c.active,
                              staff.c.department.is_not(None))
                       .group_by(staff.c.department).order_by(sa.desc("n"), staff.c.department)).first()
    return row.department if row else None


def register(engine, vault: confidential.ReporterVault, fields: dict, *, started_by: str,
             reporter_name: str | None = None, reporter_contact: str | None = None,
             with_query_code: bool = False, uploads=()) -> Registered:
    """Start a clue. `fields` are the cleaned CLUE_FIELDS; the reporter's identity goes only to the
    encrypted store; `uploads` (form Upload objects) become the clue's attachments."""
    problems = _check(fields, reporter_name, reporter_contact)
    if problems:
        raise Invalid("线索登记信息有误", problems)
    data = {k: fields.get(k) for k in CLUE_FIELDS}
    with engine.db.connect() as conn:
        data["office_department"] = office_department(conn)
        names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    data["person_department_name"] = names.get(data["person_department"], data["person_department"])
    # Reporters told of the acceptance and the result: every real-name reporter, and a web reporter
    # who holds a query code.
    data["feedback_required"] = bool(data["real_name"] or with_query_code)
    code = confidential.new_query_code() if with_query_code else None
    received = date.fromisoformat(data["received_on"])
    business_key = f"XS{received:%Y%m%d}-{engine.ids.uuid().hex[:6].upper()}"
    identity = (reporter_name, reporter_contact) if data["real_name"] else (None, None)

    def within(conn, instance_id):
        now = engine.clock.now()
        if any(identity):
            confidential.store_reporter(conn, vault, instance_id, *identity, now)
        if code:
            confidential.store_query_code(conn, instance_id, code, now)
        for up in uploads:
            attachments.store(conn, instance_id=instance_id, task_id=None, filename=up.filename, data=up.data,
                              user=started_by, now=now, field="attachments")

    view = engine.start(PROCESS_KEY, started_by=started_by, business_key=business_key, data=data, within=within)
    return Registered(view.id, business_key, code)


def _check(fields: dict, reporter_name, reporter_contact) -> list[Problem]:
    problems = []
    if fields.get("source") not in SOURCES:
        problems.append(Problem("请选择线索来源", field="source", code="choice"))
    if fields.get("channel") not in CHANNELS:
        problems.append(Problem("请选择受理渠道", field="channel", code="choice"))
    try:
        date.fromisoformat(str(fields.get("received_on")))
    except ValueError:
        problems.append(Problem("受理时间格式应为 2026-09-28", field="received_on", code="invalid"))
    if not (fields.get("person_name") or "").strip():
        problems.append(Problem("请填写被反映人姓名", field="person_name", code="required"))
    if fields.get("real_name"):
        if not (reporter_name or "").strip():
            problems.append(Problem("实名举报须填写举报人姓名", field="reporter_name", code="required"))
        if not (reporter_contact or "").strip():
            problems.append(Problem("实名举报须填写举报人联系方式", field="reporter_contact", code="required"))
    return problems


def today(engine) -> str:
    return engine.clock.now().astimezone(BEIJING).date().isoformat()


# --- duplicates ----------------------------------------------------------------------------------------

SIMILAR_SUMMARY = 0.6      # difflib ratio from which two summaries are shown as possibly the same matter


def possible_duplicates(rows: list[dict], person_name: str | None, summary: str | None, *,
                        limit: int = 5) -> list[dict]:
    """Registered clues about the same person concerned, or with a similar summary (difflib's ratio),
    most similar first. `rows` are ledger rows."""
    name = (person_name or "").strip()
    text = (summary or "").strip()
    hits = []
    for row in rows:
        same_person = bool(name) and (row.get("person_name") or "").strip() == name
        ratio = 0.0
        other = (row.get("summary") or "").strip()
        if text and other:
            matcher = difflib.SequenceMatcher(None, text, other, autojunk=False)
            if matcher.real_quick_ratio() >= SIMILAR_SUMMARY and matcher.quick_ratio() >= SIMILAR_SUMMARY:
                ratio = matcher.ratio()
        if same_person or ratio >= SIMILAR_SUMMARY:
            hits.append({**row, "similarity": round(ratio, 2), "same_person": same_person})
    hits.sort(key=lambda h: (not h["same_person"], -h["similarity"]))
    return hits[:limit]
