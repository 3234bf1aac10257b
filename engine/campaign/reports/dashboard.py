"""The figures behind the dashboard's charts, each with what a click should filter the list by.

Campaign figures (progress by phase and department, overdue tasks by department) are read through
`engine.campaign_matrix`; clue figures (by source, disposal, status over time, the four forms, the
real-name feedback rate) through the clue ledger, over every clue (the ledger is the list behind them).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.campaign import matrix as campaign_matrix
from engine.clues.intake import SOURCES
from engine.clues.ledger import DISPOSALS, FORMS, STATUSES, clue_rows, feedback_rate
from engine.db.schema import department, human_task, process_instance
from engine.deadlines.workdays import BEIJING


def campaign_figures(conn, campaign_id: str, now: datetime) -> dict:
    grid = campaign_matrix.matrix(conn, campaign_id, now)
    phases = [c for c in grid["columns"]]
    progress = {"departments": [{"code": r["department"], "name": r["name"]} for r in grid["rows"]],
                "series": [{"phase": c["code"], "name": c["name"], "name_en": c["name_en"],
                            "data": [r["cells"][c["code"]]["percent"] if r["cells"][c["code"]]["instances"] else None
                                     for r in grid["rows"]]} for c in phases]}
    return {"progress": progress, "overdue": overdue_by_department(conn, campaign_id, now)}


def overdue_by_department(conn, campaign_id: str, now: datetime) -> list[dict]:
    """Open campaign tasks past their deadline, counted by the department they are assigned to."""
    h = human_task.c
    children = sa.select(process_instance.c.id).where(process_instance.c.parent_id == campaign_id)
    rows = conn.execute(sa.select(h.candidate_department, sa.func.count()).where(
        h.instance_id.in_(children), h.status == "open", h.due_at < now, h.candidate_department.is_not(None))
        .group_by(h.candidate_department)).all()
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    found = [{"code": code, "name": names.get(code, code), "count": int(n)} for code, n in rows]
    return sorted(found, key=lambda r: (-r["count"], r["name"]))


def overdue_tasks(conn, campaign_id: str, now: datetime, department_code: str | None = None) -> list[dict]:
    """The list behind the overdue chart: open campaign tasks past due, oldest deadline first."""
    h = human_task.c
    children = sa.select(process_instance.c.id).where(process_instance.c.parent_id == campaign_id)
    q = sa.select(h.id, h.name, h.candidate_department, h.due_at, h.escalation_level, h.instance_id).where(
        h.instance_id.in_(children), h.status == "open", h.due_at < now)
    if department_code:
        q = q.where(h.candidate_department == department_code)
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    return [dict(r._mapping, department_name=names.get(r.candidate_department, r.candidate_department),
                 days_overdue=(now - r.due_at).days) for r in conn.execute(q.order_by(h.due_at, h.id))]


def clue_figures(conn, now: datetime, max_points: int = 60, viewer=None) -> dict:
    rows = clue_rows(conn, now, viewer=viewer)
    by_source = Counter(r["source"] for r in rows)
    by_disposal = Counter(r["disposal"] for r in rows if r["disposal"])
    by_form = Counter(r["discipline_form"] for r in rows if r["discipline_form"] in FORMS)
    return {
        "sources": [{"code": k, "name": v, "count": by_source[k]} for k, v in SOURCES.items() if by_source[k]],
        "disposals": [{"code": k, "name": v, "count": by_disposal[k]} for k, v in DISPOSALS.items()],
        "forms": [{"code": k, "name": v, "count": by_form[k]} for k, v in FORMS.items() if k != "none"],
        "status": _status_over_time(rows, now, max_points),
        "feedback": feedback_rate(rows),
    }


def _status_over_time(rows: list[dict], now: datetime, max_points: int) -> dict:
    """Clues open and closed at the end of each day (or week) from the first receipt to today."""
    if not rows:
        return {"days": [], "open": [], "closed": [], "statuses": STATUSES}
    today = now.astimezone(BEIJING).date()
    first = min(datetime.fromisoformat(r["received_on"]).date() for r in rows)
    span = max(0, (today - first).days)
    step = max(1, -(-span // max_points)) if span else 1
    days = [first + timedelta(days=i) for i in range(0, span + 1, step)]
    if days[-1] != today:
        days.append(today)
    closed_on = {r["instance_id"]: r["closed_on"] for r in rows}
    opened, closed = [], []
    for d in days:
        iso = d.isoformat()
        received = [r for r in rows if r["received_on"] <= iso]
        done = [r for r in received if closed_on[r["instance_id"]] and closed_on[r["instance_id"]] <= iso]
        opened.append(len(received) - len(done))
        closed.append(len(done))
    return {"days": [d.isoformat() for d in days], "open": opened, "closed": closed, "statuses": STATUSES}
