"""Registering a clue (问题线索受理登记) and the hint of possible duplicates.

A clue is an instance of the `clue` process. Its workflow data hold the person concerned (被反映人),
the summary, source (线索来源), channel and date received; the reporter's (举报人) name and contact
are split off here, before anything reaches the workflow, and stored encrypted by
`clues_confidential` in the same transaction that starts the instance.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from engine.inbox import attachments
from engine.inbox.submission import FormRejected, lookups
from engine.clues import confidential, ledger, reporter_access
from engine.errors import Invalid, NotFound, Problem
from engine.db.schema import department, human_task, staff, staff_role
from engine.db.transactions import read_transaction, write_transaction
from engine.deadlines.workdays import BEIJING
from engine.forms import MemoryLookups, validate_submission
from engine.org import people as org
from engine.org.people import Principal
from engine.org.roles import DISCIPLINE_OFFICE, LEADERSHIP_GROUP
from engine.permissions import may_handle_clues, may_reveal_reporter, require
from engine.runtime.recusal import excluded_persons
from engine.text import hidden_characters

PROCESS_KEY = "clue"
REVIEW_PROCESS_KEY = "clue_review"
REGISTER_FORM = "clue_register"            # the discipline office's registration form
PUBLIC_FORM = "clue_public_report"         # the public reporting page's form (网上举报)
PUBLIC_STARTER = "public_report"           # who "starts" a clue reported on the public page

# The seven sources of seed 002's 附件3 and the channels of seeds 000/004, in the ledger's order.
SOURCES = {"petition": "信访举报", "accusation": "检举控告", "inspection": "巡视巡察",
           "assigned": "上级纪委监委交办", "audit": "审计发现", "law_enforcement": "政法机关移送",
           "self_found": "自行发现"}
CHANNELS = {"phone": "电话", "email": "电子邮件", "letter": "信件", "visit": "来访", "web": "网上举报",
            "survey": "出院满意度调查"}
# What the office's form holds that is workflow data (the reporter's identity is not).
CLUE_FIELDS = ("person_name", "person_position", "person_department", "position_level", "party_member",
               "public_employee", "subject_in_leadership_group",
               "summary", "source", "channel", "received_on", "real_name", "person_username", "report_back_due_on")
# What the staff record says of a person concerned who works here: never retyped per clue.
SUBJECT_FROM_STAFF = ("person_name", "person_department", "position_level", "party_member", "public_employee",
                      "subject_in_leadership_group")
POSITION_LEVELS = {"hospital_leader": "院领导", "middle_manager": "中层", "other": "其他"}
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
                       .where(staff_role.c.role == DISCIPLINE_OFFICE, staff.c.active,
                              staff.c.department.is_not(None))
                       .group_by(staff.c.department).order_by(sa.desc("n"), staff.c.department)).first()
    return row.department if row else None


def register(engine, vault: confidential.ReporterVault, fields: dict, *, started_by: str,
             reporter_name: str | None = None, reporter_contact: str | None = None,
             with_query_code: bool = False, uploads=()) -> Registered:
    """Start a clue. `fields` are the cleaned CLUE_FIELDS; the reporter's identity goes only to the
    encrypted store; `uploads` (form Upload objects) become the clue's attachments."""
    with engine.db.connect() as conn:
        fields = subject_from_staff(conn, fields)
    problems = _check(fields, reporter_name, reporter_contact)
    if problems:
        raise Invalid("线索登记信息有误", problems)
    data = {k: fields.get(k) for k in CLUE_FIELDS}
    data["conflicts"] = []          # people the person concerned declares conflicts with (回避)
    data["letter_received_on"] = None   # an inquiry letter's receipt, once recorded (the reply runs from it)
    data["handling_mode"] = "self"      # 本级办理 until the triage decides 提级/交叉/联合办理
    data["round_number"] = 1            # 回头看 may reopen the clue: a later disposal round (engine.clues.rounds)
    data["reopened_on"] = None          # the day a later round began (its triage runs a month from it)
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


def subject_from_staff(conn, fields: dict) -> dict:
    """`fields` with the person concerned's name, department, level, party membership, public
    employment and membership of the leadership group taken from the staff record when they work
    here (`person_username`): the record wins over anything typed. A member of the leadership group
    is not judged by the group: the clue goes to the higher commission like a 院领导's."""
    username = (fields.get("person_username") or "").strip() or None
    if username is None:
        return {**fields, "person_username": None, "subject_in_leadership_group": False}
    row = conn.execute(sa.select(staff.c.name, staff.c.department, staff.c.position_level, staff.c.party_member,
                                 staff.c.public_employee)
                       .where(staff.c.username == username)).one_or_none()
    if row is None:
        return {**fields, "person_username": username, "_unknown_person": True}
    in_group = conn.execute(sa.select(staff_role.c.role).where(
        staff_role.c.username == username, staff_role.c.role == LEADERSHIP_GROUP)).first() is not None
    return {**fields, "person_username": username, "person_name": row.name, "person_department": row.department,
            "position_level": row.position_level, "party_member": row.party_member,
            "public_employee": row.public_employee, "subject_in_leadership_group": in_group}


def _check(fields: dict, reporter_name, reporter_contact) -> list[Problem]:
    problems = []
    if fields.get("_unknown_person"):
        problems.append(Problem("没有这名职工", field="person_username", code="unknown_staff"))
    if fields.get("position_level") not in POSITION_LEVELS:
        problems.append(Problem("请选择职级", field="position_level", code="choice"))
    if not fields.get("person_department"):
        problems.append(Problem("请选择被反映人所在科室", field="person_department", code="required"))
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


# --- the office's registration ----------------------------------------------------------------------

@dataclass(frozen=True)
class Intake:
    """What registering from the form gave: the clue, or the possible duplicates to confirm first."""
    registered: Registered | None = None
    duplicates: list[dict] = field(default_factory=list)
    values: dict = field(default_factory=dict)      # what was typed, to show the form again


def register_from_form(engine, vault: confidential.ReporterVault, principal: Principal, raw, files, *,
                       duplicates_confirmed: bool = False) -> Intake:
    """Register a clue from the office's form (`FormRejected` naming each field at fault). Possible
    duplicates are shown before anything is saved, unless the office confirmed it is another matter."""
    require(may_handle_clues(principal), "只有纪检监察室可以登记线索")
    with lookups(engine.db) as found:
        submission = validate_submission(engine.forms.get(REGISTER_FORM), raw, lookups=found, files=files)
    if submission.errors:
        raise FormRejected(submission)
    with read_transaction(engine.db) as conn:
        data = subject_from_staff(conn, submission.data)
        rows = ledger.clue_rows(conn, engine.clock.now(), viewer=principal)
    for problem in _check(data, data.get("reporter_name"), data.get("reporter_contact")):
        submission.errors.setdefault(problem.field, problem.message)     # refused on the same page
    if submission.errors:
        raise FormRejected(submission)
    duplicates = possible_duplicates(rows, data["person_name"], data["summary"])
    if duplicates and not duplicates_confirmed:
        return Intake(duplicates=duplicates, values=dict(submission.values))
    fields = {k: data.get(k) for k in CLUE_FIELDS}
    return Intake(register(engine, vault, fields, started_by=principal.username,
                           reporter_name=data.get("reporter_name"), reporter_contact=data.get("reporter_contact"),
                           uploads=submission.files.get("attachments", [])))


# --- the public page's report -----------------------------------------------------------------------

def register_public_report(engine, vault: confidential.ReporterVault, raw) -> Registered:
    """A report from the public page becomes a clue (source 信访举报, channel 网上举报) with a query
    code for its reporter; `FormRejected` naming each field at fault."""
    submission = validate_submission(engine.forms.get(PUBLIC_FORM), raw, lookups=MemoryLookups())
    for name, value in submission.values.items():
        if isinstance(value, str) and hidden_characters(value) and name not in submission.errors:
            # invisible bidi or zero-width characters make a name read other than it is, to the office
            submission.errors[name] = "含有不可见的格式字符（如双向控制符、零宽字符），请删除后重新填写"
    if submission.errors:
        raise FormRejected(submission)
    data = submission.data
    with read_transaction(engine.db) as conn:
        fields = public_report_fields(conn, data, today(engine))
    return register(engine, vault, fields, started_by=PUBLIC_STARTER, reporter_name=data.get("reporter_name"),
                    reporter_contact=data.get("reporter_contact"), with_query_code=True)


def public_report_fields(conn, data: dict, today: str) -> dict:
    """The web report as clue data. The department typed is matched to a department by name; a person
    concerned found there by name gives the position level and party membership."""
    dept = conn.execute(sa.select(department.c.code).where(department.c.name_zh == data["person_department"])
                        ).scalar_one_or_none()
    person = None
    if dept:
        matches = conn.execute(sa.select(staff.c.username, staff.c.position_level, staff.c.party_member,
                                         staff.c.public_employee)
                               .where(staff.c.name == data["person_name"], staff.c.department == dept)).all()
        person = matches[0] if len(matches) == 1 else None
    summary = f"时间：{data['happened']}；地点：{data['place']}；事实：{data['facts']}"
    return {"person_name": data["person_name"], "person_position": None,
            "person_department": dept or data["person_department"],
            "position_level": person.position_level if person else "other",
            "party_member": person.party_member if person else None,
            "public_employee": person.public_employee if person else None,
            "subject_in_leadership_group": False,
            "person_username": person.username if person else None,
            "summary": summary, "source": "petition", "channel": "web", "received_on": today,
            "real_name": bool(data["real_name"])}


# --- one clue -----------------------------------------------------------------------------------------

def clue(engine, instance_id: str, conn=None, viewer: Principal | None = None) -> dict:
    """The clue's ledger row; NotFound if there is no such clue (or `viewer` is recused from it)."""
    if len(instance_id) > 36:
        raise NotFound(f"线索 {instance_id[:36]}… 不存在", field="instance_id")
    if conn is None:
        with read_transaction(engine.db) as conn:
            rows = ledger.clue_rows(conn, engine.clock.now(), instance_ids=[instance_id], viewer=viewer)
    else:
        rows = ledger.clue_rows(conn, engine.clock.now(), instance_ids=[instance_id], viewer=viewer)
    if not rows:
        raise NotFound(f"线索 {instance_id} 不存在", field="instance_id")
    return rows[0]


@dataclass
class CluePage:
    """What the clue page shows."""
    clue: dict
    tasks: list[dict]               # open tasks
    history: list[dict]             # latest first
    has_reporter: bool
    names: dict[str, str]           # every username's name
    people: list[tuple[str, str]]   # active staff, to hand the clue's task to
    step_names: dict[str, str]      # task element id -> its name
    duplicates: list[dict]          # other clues about the same person or matter
    can_reveal: bool                # the office: may reveal, and grant others access
    can_reveal_reporter: bool       # the office, or someone it granted access to this clue's reporter
    reviews: list[dict] = field(default_factory=list)   # 回头看 findings the office may reopen the clue on


def show(engine, principal: Principal, instance_id: str) -> CluePage:
    from engine.clues import rounds
    now = engine.clock.now()
    with read_transaction(engine.db) as conn:
        instance_id = rounds.line_of(conn, instance_id)
        found = clue(engine, instance_id, conn, principal)
        current = found["current_instance_id"]       # the latest disposal round (回头看 may reopen a clue)
        every_round = [r["instance_id"] for r in found["rounds"]] or [instance_id]
        has_reporter = confidential.has_reporter(conn, instance_id)
        names = {r["username"]: r["name"] for r in org.list_staff(conn, active_only=False)}
        recused = excluded_persons(conn, current)
        people = [(p["username"], p["name"]) for p in org.list_staff(conn) if not recused.excludes(p["username"])]
        step_names = dict(conn.execute(sa.select(human_task.c.element_id, human_task.c.name)
                                       .where(human_task.c.instance_id.in_(every_round))).all())
        every = ledger.clue_rows(conn, now, viewer=principal)
        granted = may_handle_clues(principal) or reporter_access.has_reporter_grant(conn, instance_id,
                                                                                    principal.username)
        reviews = rounds.reviews_that_may_reopen(conn, instance_id) if may_handle_clues(principal) else []
    others = [r for r in possible_duplicates(every, found["person_name"], found["summary"], limit=6)
              if r["instance_id"] != instance_id][:5]
    history = sorted((e for iid in every_round for e in engine.events(iid)), key=lambda e: (e["at"], e["seq"]), reverse=True)
    return CluePage(found, engine.show(current).tasks, history, has_reporter,
                    names, people, step_names, others, may_handle_clues(principal),
                    may_reveal_reporter(principal, granted=granted), reviews)


def reveal(engine, vault: confidential.ReporterVault, principal: Principal, instance_id: str):
    """The clue's reporter (`confidential.Reporter`), for the office or someone it granted access;
    the reading is recorded first. Forbidden for anyone else."""
    with write_transaction(engine.db) as conn:
        clue(engine, instance_id, conn, principal)
        office = may_handle_clues(principal)
        granted = not office and reporter_access.has_reporter_grant(conn, instance_id, principal.username)
        require(may_reveal_reporter(principal, granted=granted), "只有纪检监察室可以查看举报人信息")
        return confidential.reveal_reporter(conn, vault, principal, instance_id, engine.clock.now(), granted=not office)


def start_review(engine, principal: Principal, instance_id: str):
    """回头看: a closed clue is selected for review; a `clue_review` instance does the review."""
    require(may_handle_clues(principal), "只有纪检监察室可以开展回头看")
    with read_transaction(engine.db) as conn:
        found = clue(engine, instance_id, conn, principal)
        office = office_department(conn)
    if found["status"] != "closed":
        raise Invalid("该线索尚未办结", [Problem("只有已办结的线索可以开展回头看")])
    return engine.start(REVIEW_PROCESS_KEY, started_by=principal.username,
                        business_key=f"{found['business_key']} 回头看",
                        data={"clue_instance_id": instance_id, "clue_business_key": found["business_key"],
                              "person_name": found["person_name"], "summary": found["summary"],
                              "disposal_result": str(found["result"]), "office_department": office})
