"""What people see of a campaign, read from its instances: no table of its own.

- `overview`: the campaigns, with their launch data and current phase (the last `phase_changed` event);
- `matrix`: phase × department cells (done / in progress / overdue, with progress counts) over the
  campaign's child instances and their inbox rows;
- `timeline`: completion of each phase's department work over time, for the chart;
- `cell_tasks`: the tasks behind one cell (drill-down);
- `obligations`: a department head's view — their department's open campaign work and deadlines;
- `disclosures` (附件2) and `statistics` (附件4's counts) for the summary.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.campaign.operators import CAMPAIGN, MONTHLY, PHASE_BY_KEY, PHASES, child_departments, launch_data
from engine.campaign.shapes import KEY_TASK, late_entries, recorded_phases
from engine.db.schema import department, event, human_task, process_instance, staff
from engine.campaign.reports.disclosures import disclosures as report_disclosures
from engine.deadlines.workdays import BEIJING
from engine.db.transactions import read_transaction
from engine.errors import NotFound
from engine.org import people as org
from engine.org.people import Principal
from engine.permissions import OFFICE
from engine.runtime import queries

COLUMNS = [(p.code, p.name, p.name_en, p.process_key) for p in PHASES] + [("monthly", "月报", "Monthly", MONTHLY),
                                                                         ("plan", "重点任务", "Key tasks", KEY_TASK)]
KEY_TO_COLUMN = {key: code for code, _, _, key in COLUMNS}


def campaigns(conn) -> list[dict]:
    """Every campaign, newest first, with its launch data and current phase."""
    rows = conn.execute(sa.select(process_instance.c.id, process_instance.c.status, process_instance.c.started_at,
                                  process_instance.c.started_by, process_instance.c.business_key)
                        .where(process_instance.c.process_key == CAMPAIGN)
                        .order_by(process_instance.c.started_at.desc())).all()
    return [dict(r._mapping, launch=launch_data(conn, r.id), phase=current_phase(conn, r.id)) for r in rows]


def campaign(conn, campaign_id: str) -> dict | None:
    row = conn.execute(sa.select(process_instance.c.id, process_instance.c.status, process_instance.c.started_at,
                                 process_instance.c.started_by, process_instance.c.business_key)
                       .where(process_instance.c.id == campaign_id,
                              process_instance.c.process_key == CAMPAIGN)).one_or_none()
    if row is None:
        return None
    return dict(row._mapping, launch=launch_data(conn, campaign_id), phase=current_phase(conn, campaign_id),
                phases=phase_changes(conn, campaign_id))


def phase_changes(conn, campaign_id: str) -> list[dict]:
    rows = conn.execute(sa.select(event.c.at, event.c.data_json).where(
        event.c.chain == campaign_id, event.c.type == "phase_changed").order_by(event.c.seq)).all()
    return [dict(json.loads(r.data_json), at=r.at) for r in rows]


def current_phase(conn, campaign_id: str) -> dict | None:
    changes = phase_changes(conn, campaign_id)
    return changes[-1] if changes else None


def milestones(conn, campaign_id: str, kind: str) -> list[dict]:
    rows = conn.execute(sa.select(event.c.at, event.c.data_json).where(
        event.c.chain == campaign_id, event.c.type == "milestone").order_by(event.c.seq)).all()
    return [dict(d, at=r.at) for r in rows if (d := json.loads(r.data_json)).get("kind") == kind]


def _phases(conn, campaign_id: str) -> list[str]:
    """The campaign's phases (its profile's; the four for a campaign launched before profiles)."""
    found = recorded_phases(conn, campaign_id)
    return [p.code for p in PHASES] if found is None else found


def _children(conn, campaign_id: str) -> list[dict]:
    rows = [dict(r._mapping) for r in conn.execute(sa.select(
        process_instance.c.id, process_instance.c.process_key, process_instance.c.status,
        process_instance.c.started_at, process_instance.c.ended_at)
        .where(process_instance.c.parent_id == campaign_id))]
    depts = child_departments(conn, [r["id"] for r in rows])
    late = late_entries(conn, [r["id"] for r in rows])
    for r in rows:
        r["department"] = depts.get(r["id"])
        r["late_entry"] = r["id"] in late
    return rows


def _task_counts(conn, campaign_id: str, now: datetime) -> dict[str, dict]:
    """Per child instance: human tasks done, open, overdue and escalated. Overdue counts the department's
    own work only (open past due, in a lane with a department rule): an office's late check of a
    department's report makes the office late, not the department."""
    h = human_task.c
    children = sa.select(process_instance.c.id).where(process_instance.c.parent_id == campaign_id)
    rows = conn.execute(sa.select(
        h.instance_id,
        sa.func.sum(sa.case((h.status == "completed", 1), else_=0)).label("done"),
        sa.func.sum(sa.case((h.status == "open", 1), else_=0)).label("open"),
        sa.func.sum(sa.case((sa.and_(h.status == "open", h.due_at < now, h.candidate_department.is_not(None)), 1),
                            else_=0)).label("overdue"),
        sa.func.sum(sa.case((sa.and_(h.status == "open", h.escalation_level > 0), 1), else_=0)).label("escalated"),
    ).where(h.instance_id.in_(children)).group_by(h.instance_id)).all()
    return {r.instance_id: {"done": int(r.done or 0), "open": int(r.open or 0), "overdue": int(r.overdue or 0),
                            "escalated": int(r.escalated or 0)} for r in rows}


def matrix(conn, campaign_id: str, now: datetime) -> dict:
    """Rows: the departments in scope; columns: the four phases and the monthly reports.

    A cell is `none` (no work yet), `done` (every instance completed), `overdue` (an open task past
    its deadline), or `progress`; with instance and task counts and a percentage for its bar."""
    launch = launch_data(conn, campaign_id)
    depts = {r.code: r for r in conn.execute(sa.select(department.c.code, department.c.name_zh, department.c.category))}
    names = {code: r.name_zh for code, r in depts.items()}
    scope = list(launch.get("departments") or [])
    counts = _task_counts(conn, campaign_id, now)
    cells: dict[tuple, dict] = defaultdict(lambda: {"instances": 0, "completed": 0, "tasks_done": 0,
                                                    "tasks_open": 0, "overdue": 0, "escalated": 0,
                                                    "late_entry": False})
    for child in _children(conn, campaign_id):
        column = KEY_TO_COLUMN.get(child["process_key"])
        if column is None or child["department"] is None:
            continue
        if child["department"] not in scope:
            scope.append(child["department"])
        cell = cells[(child["department"], column)]
        cell["instances"] += 1
        cell["completed"] += child["status"] == "completed"
        c = counts.get(child["id"], {})
        cell["tasks_done"] += c.get("done", 0)
        cell["tasks_open"] += c.get("open", 0)
        cell["overdue"] += c.get("overdue", 0)
        cell["escalated"] += c.get("escalated", 0)
        cell["late_entry"] = cell["late_entry"] or child["late_entry"]
    rows = []
    totals = {code: {"cells": 0, "done": 0, "overdue": 0} for code, *_ in COLUMNS}
    scope.sort(key=lambda code: (depts[code].category, code) if code in depts else ("~", code))
    for code in scope:
        row = {"department": code, "name": names.get(code, code), "cells": {}}
        for column, *_ in COLUMNS:
            cell = dict(cells.get((code, column)) or {"instances": 0, "completed": 0, "tasks_done": 0,
                                                      "tasks_open": 0, "overdue": 0, "escalated": 0,
                                                      "late_entry": False})
            cell["state"] = _state(cell)
            tasks = cell["tasks_done"] + cell["tasks_open"]
            cell["percent"] = 100 if cell["state"] == "done" else (round(100 * cell["tasks_done"] / tasks) if tasks else 0)
            row["cells"][column] = cell
            if cell["instances"]:
                totals[column]["cells"] += 1
                totals[column]["done"] += cell["state"] == "done"
                totals[column]["overdue"] += cell["state"] == "overdue"
        rows.append(row)
    for t in totals.values():
        t["percent"] = round(100 * t["done"] / t["cells"]) if t["cells"] else 0
    used = set(_phases(conn, campaign_id)) | {"monthly"}
    if launch.get("key_tasks"):
        used.add("plan")
    columns = [{"code": code, "name": name, "name_en": en} for code, name, en, _ in COLUMNS if code in used]
    return {"columns": columns, "rows": rows, "totals": totals}


def _state(cell: dict) -> str:
    if not cell["instances"]:
        return "none"
    if cell["completed"] == cell["instances"]:
        return "done"
    return "overdue" if cell["overdue"] else "progress"


def timeline(conn, campaign_id: str, now: datetime, max_points: int = 120) -> dict:
    """Per phase, the share (%) of its department work completed at the end of each day (or week)."""
    children = [c for c in _children(conn, campaign_id) if c["process_key"] in PHASE_BY_KEY]
    start = conn.execute(sa.select(process_instance.c.started_at)
                         .where(process_instance.c.id == campaign_id)).scalar_one_or_none()
    if start is None:
        return {"days": [], "series": []}
    first, last = start.astimezone(BEIJING).date(), now.astimezone(BEIJING).date()
    last = max(last, first)
    span = max(0, (last - first).days)
    step = max(1, -(-span // max_points)) if span else 1
    days = [first + timedelta(days=i) for i in range(0, span + 1, step)]
    if days[-1] != last:
        days.append(last)
    series = []
    for phase in PHASES:
        mine = [c for c in children if c["process_key"] == phase.process_key]
        if not mine:
            continue
        data = []
        for d in days:
            started = [c for c in mine if c["started_at"].astimezone(BEIJING).date() <= d]
            done = [c for c in started if c["ended_at"] and c["status"] == "completed"
                    and c["ended_at"].astimezone(BEIJING).date() <= d]
            data.append(round(100 * len(done) / len(started), 1) if started else None)
        series.append({"phase": phase.code, "name": phase.name, "name_en": phase.name_en, "data": data})
    return {"days": [d.isoformat() for d in days], "series": series}


def cell_tasks(conn, campaign_id: str, column: str, department_code: str) -> list[dict]:
    """The human tasks of one cell, open first; talks name the staff member they are for."""
    key = next((k for code, _, _, k in COLUMNS if code == column), None)
    if key is None:
        return []
    ids = [c["id"] for c in _children(conn, campaign_id)
           if c["process_key"] == key and c["department"] == department_code]
    if not ids:
        return []
    rows = [dict(r._mapping) for r in conn.execute(sa.select(human_task).where(human_task.c.instance_id.in_(ids))
                                                   .order_by(human_task.c.status.desc(), human_task.c.due_at,
                                                             human_task.c.created_at))]
    members = _talk_members(conn, [r["id"] for r in rows if r["element_id"] == "talk"])
    people = dict(conn.execute(sa.select(staff.c.username, staff.c.name)).all())
    for r in rows:
        member = members.get(r["id"])
        r["subject"] = people.get(member, member) if member else None
    return rows


def _talk_members(conn, task_ids: list[str]) -> dict[str, str]:
    """The staff member each one-to-one talk task is for (its multi-instance input item)."""
    if not task_ids:
        return {}
    return {tid: data.get("member") for tid, data in queries.data_of_tasks(conn, task_ids).items()}


def obligations(conn, department_codes, now: datetime) -> list[dict]:
    """For each running campaign that has work for these departments: its phase deadlines and the
    departments' open tasks (with due dates, overdue first)."""
    codes = sorted(department_codes)
    if not codes:
        return []
    found = []
    for c in campaigns(conn):
        if c["status"] not in ("active", "error"):
            continue
        scope = set(c["launch"].get("departments") or [])
        if not scope & set(codes):
            continue
        children = sa.select(process_instance.c.id).where(process_instance.c.parent_id == c["id"])
        tasks = [dict(r._mapping) for r in conn.execute(
            sa.select(human_task).where(human_task.c.instance_id.in_(children), human_task.c.status == "open",
                                        human_task.c.candidate_department.in_(codes))
            .order_by(human_task.c.due_at.is_(None), human_task.c.due_at))]
        members = _talk_members(conn, [t["id"] for t in tasks if t["element_id"] == "talk"])
        people = dict(conn.execute(sa.select(staff.c.username, staff.c.name)).all())
        for t in tasks:
            t["subject"] = people.get(members.get(t["id"]), members.get(t["id"]))
            t["overdue"] = bool(t["due_at"] and t["due_at"] < now)
        used = _phases(conn, c["id"])
        deadlines = [{"phase": p.code, "name": p.name, "name_en": p.name_en, "deadline": c["launch"].get(p.deadline_field)}
                     for p in PHASES if p.code in used]
        found.append(dict(c, tasks=tasks, deadlines=deadlines,
                          disclosure_deadline=c["launch"].get("disclosure_deadline"),
                          report_day=c["launch"].get("report_day")))
    return found


def disclosures(conn, campaign_id: str) -> dict:
    """附件2 so far: see `engine.reports.disclosures` (the one implementation)."""
    return report_disclosures(conn, campaign_id)


def statistics(conn, campaign_id: str) -> dict:
    """附件4's counts so far: departments by category, issue items (closed out / open / overdue),
    reminder talks, rules improved (完善制度), disclosures."""
    launch = launch_data(conn, campaign_id)
    cats = dict(conn.execute(sa.select(department.c.code, department.c.category)).all())
    by_category = defaultdict(int)
    for code in launch.get("departments") or []:
        by_category[cats.get(code, "other")] += 1
    children = _children(conn, campaign_id)
    issues = [c for c in children if c["process_key"] == "campaign_issue_item"]
    rules = 0
    reform_ids = [c["id"] for c in children if c["process_key"] == "campaign_consolidation_dept"]
    for t in queries.task_data(conn, reform_ids, ["reform"]):
        rules += len(t.data.get("rules") or [])
    talks = sum(len(m.get("reminder_talks") or []) for m in milestones(conn, campaign_id, "inspection"))
    d = disclosures(conn, campaign_id)["total"]
    return {"departments": {"administrative": by_category["administrative"], "clinical": by_category["clinical"],
                            "medical_technical": by_category["medical_technical"],
                            "total": sum(by_category.values())},
            "issues": {"total": len(issues), "closed_out": sum(c["status"] == "completed" for c in issues)},
            "reminder_talks": talks, "rules_improved": rules,
            "disclosures": {"people": d["people"], "issues": d["issues"], "money": d["money"], "goods": d["goods"],
                            "on_time": d["on_time"], "late": d["late"]}}


# --- the campaign pages' read models: one read transaction each, called with the engine -----------

def _found(conn, campaign_id: str) -> dict:
    found = campaign(conn, campaign_id)
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found", field="campaign_id")
    return found


def listing(eng) -> list[dict]:
    """Every campaign, newest first (`campaigns`)."""
    with read_transaction(eng.db) as conn:
        return campaigns(conn)


def launch_choices(eng) -> dict:
    """Whom and which departments the launch form offers."""
    d = org.directory(eng)
    return {"people": d.people, "departments": d.department_choices}


def view(eng, p: Principal, campaign_id: str) -> dict:
    """A campaign's page: the campaign, its matrix, its statistics, the names of the people in it,
    and its disclosures (附件2) for the discipline office only. `NotFound` for an unknown campaign."""
    with read_transaction(eng.db) as conn:
        camp = _found(conn, campaign_id)
        used = _phases(conn, campaign_id)
        return {"camp": camp, "grid": matrix(conn, campaign_id, eng.clock.now()),
                "phases": [ph for ph in PHASES if ph.code in used],
                "coverage": coverage(conn, campaign_id),
                "disclosures": disclosures(conn, campaign_id) if p.has(*OFFICE) else None,
                "stats": statistics(conn, campaign_id), "names": org.read_directory(conn).names}


def coverage(conn, campaign_id: str) -> dict:
    """Mobilization's reach per department (seed 002: 全员参与、全面覆盖; seed 000: 行风教育100%覆盖): its
    headcount when the phase began, how many attended the meeting, how many were educated (make-up
    sessions included; the attendance when not given) and the share; the hospital's total."""
    children = [c for c in _children(conn, campaign_id) if c["process_key"] == PHASES[0].process_key]
    data = queries.instance_data(conn, [c["id"] for c in children])
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    meetings: dict[str, dict] = {}
    for chunk in range(0, len(children), 500):
        ids = [c["id"] for c in children[chunk:chunk + 500]]
        for e in conn.execute(sa.select(event.c.instance_id, event.c.data_json).where(
                event.c.chain.in_(ids), event.c.type == "task_completed", event.c.element_id == "meeting")
                .order_by(event.c.seq)):
            meetings[e.instance_id] = json.loads(e.data_json).get("data") or {}
    rows, total = [], {"headcount": 0, "attendance": 0, "trained": 0}
    for c in sorted(children, key=lambda c: names.get(c["department"], c["department"] or "")):
        headcount = (data.get(c["id"]) or {}).get("headcount")
        met = meetings.get(c["id"])
        attendance = met.get("attendance") if met else None
        trained = (met.get("trained") if met and met.get("trained") is not None else attendance)
        row = {"department": c["department"], "name": names.get(c["department"], c["department"]),
               "headcount": headcount, "attendance": attendance, "trained": trained,
               "percent": round(100 * trained / headcount) if headcount and trained is not None else None}
        rows.append(row)
        for k in total:
            total[k] += int(row[k] or 0)
    total["percent"] = round(100 * total["trained"] / total["headcount"]) if total["headcount"] else None
    return {"rows": rows, "total": total}


def timeline_view(eng, campaign_id: str) -> dict:
    """The campaign's chart (`timeline`); `NotFound` for an unknown campaign."""
    with read_transaction(eng.db) as conn:
        _found(conn, campaign_id)
        return timeline(conn, campaign_id, eng.clock.now())


def cell_view(eng, campaign_id: str, column: str, department_code: str) -> dict:
    """The tasks behind one cell, with the names to show; `NotFound` for an unknown campaign, column
    or department."""
    columns = {code: (name, en) for code, name, en, _ in COLUMNS}
    with read_transaction(eng.db) as conn:
        camp = _found(conn, campaign_id)
        if column not in columns:
            raise NotFound(f"column {column} not found", field="column")
        tasks = cell_tasks(conn, campaign_id, column, department_code)
        directory = org.read_directory(conn)
    name = directory.department_names.get(department_code)
    if name is None:
        raise NotFound(f"department {department_code} not found", field="department")
    return {"camp": camp, "column_name": columns[column], "tasks": tasks, "department_name": name,
            "names": directory.names}


def mine(eng, heads) -> dict:
    """A department head's obligations over the departments they head, and those departments' names."""
    with read_transaction(eng.db) as conn:
        found = obligations(conn, heads, eng.clock.now())
        names = org.department_names(conn)
    return {"campaigns": found, "departments": [names.get(d, d) for d in sorted(heads)]}
