"""The monthly progress report (月报告, seeds 001 and 004): per department in the campaign's scope,
what was due this month (the plan: campaign tasks due in the month), what was done (completed in
the month up to the cut-off, and how many of those in time), the items overdue at the cut-off, and
whether the department's own monthly report of that month was submitted.

The month is the cut-off's month; the department of a task is the one it was assigned to.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from engine.campaign.operators import MONTHLY, PHASES
from engine.db.schema import department, human_task, process_instance
from engine.deadlines.workdays import BEIJING
from engine.campaign.reports.common import CampaignRef, cutoff_instant


def month_bounds(cutoff: date) -> tuple[date, date]:
    first = cutoff.replace(day=1)
    last = (first.replace(year=first.year + 1, month=1) if first.month == 12
            else first.replace(month=first.month + 1))
    return first, last


def monthly(conn, camp: CampaignRef, cutoff: date, now: datetime, departments=None) -> dict:
    """Rows per department (`departments` limits them, e.g. to a head's own), with the month's phase
    deadlines as the plan's headline."""
    until = min(now, cutoff_instant(cutoff))
    first, after = month_bounds(cutoff)
    start, end = _midnight(first), _midnight(after)
    scope = list(camp.launch.get("departments") or [])
    if departments is not None:
        scope = [c for c in scope if c in set(departments)]
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    children = sa.select(process_instance.c.id).where(process_instance.c.parent_id == camp.id)
    h = human_task.c
    tasks = [dict(r._mapping) for r in conn.execute(
        sa.select(h.id, h.instance_id, h.process_key, h.element_id, h.name, h.candidate_department, h.due_at,
                  h.completed_at, h.status, h.created_at)
        .where(h.instance_id.in_(children), h.candidate_department.in_(scope), h.created_at < until,
               h.status != "cancelled")
        .order_by(h.due_at, h.created_at, h.id))]
    rows = []
    for code in scope:
        mine = [t for t in tasks if t["candidate_department"] == code]
        due = [t for t in mine if t["due_at"] is not None and start <= t["due_at"] < end]
        done = [t for t in mine if t["completed_at"] is not None and start <= t["completed_at"] < until]
        in_time = [t for t in done if t["due_at"] is None or t["completed_at"] <= t["due_at"]]
        due_done = [t for t in due if t["completed_at"] is not None and t["completed_at"] < until]
        overdue = [t for t in mine if t["due_at"] is not None and t["due_at"] < until
                   and (t["completed_at"] is None or t["completed_at"] >= until)]
        report = [t for t in mine if t["process_key"] == MONTHLY and t["element_id"] == "fill_report"
                  and t["due_at"] is not None and start <= t["due_at"] < end]
        rows.append({"department": code, "name": names.get(code, code), "due": len(due), "due_done": len(due_done),
                     "done": len(done), "in_time": len(in_time),
                     "percent": round(100 * len(due_done) / len(due)) if due else None,
                     "overdue": [{"name": t["name"], "due_on": _due_day(t["due_at"])} for t in overdue],
                     "report": _report_state(report, until)})
    total = {k: sum(r[k] for r in rows) for k in ("due", "due_done", "done", "in_time")}
    total["overdue"] = sum(len(r["overdue"]) for r in rows)
    total["percent"] = round(100 * total["due_done"] / total["due"]) if total["due"] else None
    plan = [{"phase": p.code, "name": p.name, "name_en": p.name_en, "deadline": camp.launch.get(p.deadline_field)}
            for p in PHASES if first.isoformat() <= (camp.launch.get(p.deadline_field) or "") < after.isoformat()]
    # the month as a date (its first day): the page and the workbook each write it in their language
    return {"month": first, "first": first.isoformat(), "rows": rows, "total": total, "plan": plan}


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def _day(at: datetime | None) -> str | None:
    return at.astimezone(BEIJING).date().isoformat() if at else None


def _due_day(at: datetime) -> str:
    """The day a deadline falls on: a deadline at 24:00 belongs to the day it ends."""
    return (at - timedelta(microseconds=1)).astimezone(BEIJING).date().isoformat()


def _report_state(tasks: list[dict], until: datetime) -> dict:
    """The department's own monthly report due this month: submitted (on which day), overdue or not yet due."""
    if not tasks:
        return {"state": "none", "on": None}
    t = tasks[0]
    if t["completed_at"] is not None and t["completed_at"] < until:
        return {"state": "submitted", "on": _day(t["completed_at"]), "late": t["completed_at"] > t["due_at"]}
    return {"state": "overdue" if t["due_at"] < until else "pending", "on": _due_day(t["due_at"])}
