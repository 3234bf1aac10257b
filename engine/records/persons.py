"""廉政档案 / 医德档案, one file per person (一人一档, seed 001: "建立健全医务人员医德档案…实行"一人一档"，
人员流动时医德档案随同接转，考核结果仍然适用").

The file is read, never kept twice: it gathers what the processes and registers already hold about
one person, keyed by their username, so it follows them when they change department (each record
shows the department they were in then):

- one-to-one talks (一对一谈心谈话) about them, from any campaign;
- their voluntary disclosures (主动说明问题), with the office's 认定, treatment and form;
- red envelopes and gifts they handed in (红包上缴登记);
- their 医德考评, quarter by quarter, with the year's grade;
- training and meetings that list them as attending (when a meeting records its attendees);
- clues about them and their outcome — for the discipline office only, and never a clue the reader
  is kept out of (回避: the person a clue is about never sees it, nor do their relations).

Who reads which part (`scope`): the office everything; the person their own file without clue
material; a department head, for the people of the departments they head, the talks, the 医德考评 and
the training (disclosures and hand-ins are confidential to the office). Anyone else: nothing. Every
reading of someone else's file is an event of the `integrity-files` hash chain.
"""
from __future__ import annotations

import sqlalchemy as sa

from engine import history
from engine.clues import ledger as clue_ledger
from engine.db.schema import department, human_task, process_instance, staff
from engine.db.transactions import write_transaction
from engine.deadlines.workdays import BEIJING
from engine.errors import Forbidden, NotFound
from engine.org.hospital import hospital_name
from engine.org.people import Principal, principal, staff_names
from engine.org.roles import DISCIPLINE_OFFICE
from engine.records import conduct, gifts
from engine.runtime import queries

CHAIN = "integrity-files"
DISCLOSURE = "campaign_disclosure"
TALK_FORM = "campaign_talk"
MEETING_FORMS = ("campaign_mobilization_meeting",)
SECTIONS = {
    "office": ("talks", "disclosures", "gifts", "conduct", "training", "clues"),
    "self": ("talks", "disclosures", "gifts", "conduct", "training"),
    "head": ("talks", "conduct", "training"),
}


def scope(viewer: Principal, subject: Principal) -> str | None:
    """Which part of `subject`'s file `viewer` may read: "office", "self", "head" or None."""
    if viewer.has(DISCIPLINE_OFFICE):
        return "office"
    if viewer.username == subject.username:
        return "self"
    if subject.department is not None and subject.department in viewer.heads:
        return "head"
    return None


def talks(conn, username: str) -> list[dict]:
    """The one-to-one talks held with the person (completed talk tasks whose item is them)."""
    h = human_task.c
    rows = conn.execute(sa.select(h.id, h.instance_id, h.candidate_department, h.completed_by, h.completed_at)
                        .where(h.form_key == TALK_FORM, h.status == "completed")).all()
    data = queries.data_of_tasks(conn, [r.id for r in rows])
    out = []
    for r in rows:
        d = data.get(r.id, {})
        if d.get("member") != username:
            continue
        out.append({"talk_date": d.get("talk_date"), "summary": d.get("summary") or "", "by": r.completed_by,
                    "department": r.candidate_department, "at": r.completed_at})
    names = staff_names(conn, {t["by"] for t in out if t["by"]})
    for t in out:
        t["by_name"] = names.get(t["by"], t["by"])
    return sorted(out, key=lambda t: (t["talk_date"] or "", t["at"]))


def disclosures(conn, username: str) -> list[dict]:
    """The person's disclosures — made by them or recorded for them by the office — oldest first."""
    p = process_instance.c
    rows = conn.execute(sa.select(p.id, p.started_by, p.started_at, p.status).where(
        p.process_key == DISCLOSURE, p.status != "cancelled").order_by(p.started_at, p.id)).all()
    registered = {r.instance_id: r.data for r in queries.task_data(conn, [r.id for r in rows], ["register"])}
    data = queries.instance_data(conn, [r.id for r in rows])
    out = []
    for r in rows:
        d = data.get(r.id, {})
        campaign = d.get("campaign") or {}
        who = (campaign.get("discloser") or {}).get("username") or r.started_by
        if who != username:
            continue
        reg = registered.get(r.id, {}) if r.status == "completed" else {}
        out.append({"id": r.id, "disclosed_on": campaign.get("disclosed_on") or r.started_at.astimezone(BEIJING).date().isoformat(),
                    "department": campaign.get("department"), "campaign": campaign.get("name") or "",
                    "doc_no": campaign.get("doc_no") or "", "in_campaign": campaign.get("id") is not None,
                    "issues": [i.get("summary") for i in d.get("issues") or []], "on_time": d.get("on_time"),
                    "money": d.get("money") or "", "goods_count": d.get("goods_count") or 0,
                    "recorded_by": campaign.get("recorded_by"), "registered": r.status == "completed",
                    "qualifies": reg.get("qualifies"), "lenient": reg.get("lenient"),
                    "discipline_form": reg.get("discipline_form"), "handling": reg.get("handling") or ""})
    return out


def training(conn, username: str) -> list[dict]:
    """Meetings and training whose record lists the person among its attendees (`attendees`)."""
    h = human_task.c
    rows = conn.execute(sa.select(h.id, h.name, h.candidate_department, h.completed_at).where(
        h.form_key.in_(MEETING_FORMS), h.status == "completed")).all()
    data = queries.data_of_tasks(conn, [r.id for r in rows])
    return [{"name": r.name, "date": data[r.id].get("meeting_date"), "department": r.candidate_department}
            for r in rows if username in (data.get(r.id, {}).get("attendees") or [])]


def clues(conn, viewer: Principal, subject: Principal, now) -> list[dict]:
    """Clues about the person (by their staff record, or — registered without one — by their name in
    their department), as the office reader may see them: none the reader is kept out of (回避)."""
    rows = clue_ledger.clue_rows(conn, now, viewer=viewer)
    return [r for r in rows if r.get("person_username") == subject.username or (
        not r.get("person_username") and r["person_name"] == subject.name
        and r["person_department"] == subject.department)]


def person_file(conn, viewer: Principal, username: str, now, *, record: bool = True) -> dict:
    """The file of `username` as `viewer` may read it, in the caller's transaction; `Forbidden` when
    they may read none of it. A reading of someone else's file is recorded."""
    subject = principal(conn, username)
    if subject is None:
        raise NotFound("找不到该人员")
    part = scope(viewer, subject)
    if part is None:
        raise Forbidden("无权查看他人的廉政档案")
    sections = SECTIONS[part]
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    level = conn.execute(sa.select(staff.c.position_level, staff.c.party_member).where(
        staff.c.username == username)).one()
    found: dict = {"person": {"username": subject.username, "name": subject.name,
                              "department": subject.department,
                              "department_name": names.get(subject.department, subject.department or "—"),
                              "position_level": level.position_level, "party_member": level.party_member},
                   "scope": part, "sections": sections, "department_names": names, "hospital": hospital_name(conn)}
    if "talks" in sections:
        found["talks"] = talks(conn, username)
    if "disclosures" in sections:
        found["disclosures"] = disclosures(conn, username)
    if "gifts" in sections:
        found["gifts"] = [e for e in gifts.entries(conn) if e["username"] == username]
    if "conduct" in sections:
        found["conduct"] = conduct.years(conn, username)
    if "training" in sections:
        found["training"] = training(conn, username)
    if "clues" in sections:
        found["clues"] = clues(conn, viewer, subject, now)
    # the departments the person's records were made in: the file follows them across a move
    seen = [r.get("department") for key in ("talks", "disclosures", "gifts", "training") for r in found.get(key, [])]
    seen += [q["department"] for y in found.get("conduct", []) for q in y["quarters"]]
    found["departments"] = [names.get(c, c) for c in dict.fromkeys(c for c in seen + [subject.department] if c)]
    if record and viewer.username != username:
        history.append_to_chain(conn, CHAIN, now, [history.NewEvent(
            "integrity_file_read", actor=viewer.username, data={"username": username, "scope": part})])
    return found


def read_file(engine, viewer: Principal, username: str) -> dict:
    """The personal file page: one transaction (the reading is recorded with it)."""
    with write_transaction(engine.db) as conn:
        return person_file(conn, viewer, username, engine.clock.now())


def people(engine, viewer: Principal, query: str = "") -> list[dict]:
    """Whose files `viewer` may open: everyone for the office, the people of their departments for a
    head, themselves otherwise; `query` matches name, username or department name."""
    from engine.db.transactions import read_transaction
    with read_transaction(engine.db) as conn:
        q = sa.select(staff.c.username, staff.c.name, staff.c.department, department.c.name_zh).join(
            department, department.c.code == staff.c.department, isouter=True).where(staff.c.active)
        if not viewer.has(DISCIPLINE_OFFICE):
            q = q.where(sa.or_(staff.c.username == viewer.username,
                               staff.c.department.in_(sorted(viewer.heads) or ["-"])))
        rows = conn.execute(q.order_by(department.c.name_zh, staff.c.name)).all()
    text = (query or "").strip()
    return [{"username": r.username, "name": r.name, "department": r.department, "department_name": r.name_zh or "—"}
            for r in rows if not text or text in r.name or text in r.username or text in (r.name_zh or "")]


def case_view(conn, engine, viewer: Principal, username) -> dict | None:
    """The file as a task's case panel shows it (党风廉政意见回复: the office checks the person's file);
    None when the data names nobody or the viewer may read none of it."""
    if not isinstance(username, str) or not username:
        return None
    try:
        # read inside the task page's read: recorded as the task's viewing, not as a file reading
        return person_file(conn, viewer, username, engine.clock.now(), record=False)
    except (Forbidden, NotFound):
        return None
