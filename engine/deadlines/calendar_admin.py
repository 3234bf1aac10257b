"""Administering the working-day calendar: overrides, and recomputing provisional deadlines.

When the State Council publishes next year's calendar (a new `chinesecalendar` release), or an
administrator adds an override, `refresh` recomputes every deadline that was provisional (or
that the change affects), each under its instance's lock, recording a `deadline_recomputed`
event with the old and new moment.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from engine import history
from engine.db.transactions import read_transaction, write_transaction
from engine.bpmn.registry import append_registry_event
from engine.db.schema import TASK_OPEN, calendar_override, human_task, timer


def set_override(engine, day: date, working: bool, note: str | None, user: str) -> None:
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        conn.execute(calendar_override.delete().where(calendar_override.c.day == day))
        conn.execute(calendar_override.insert().values(day=day, working=working, note=note, created_by=user,
                                                       created_at=now))
        append_registry_event(conn, now, history.NewEvent("calendar_override_set", actor=user, data={
            "day": day.isoformat(), "working": working, "note": note}))
    engine.deadlines.invalidate()


def remove_override(engine, day: date, user: str) -> bool:
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        gone = conn.execute(calendar_override.delete().where(calendar_override.c.day == day)).rowcount
        if gone:
            append_registry_event(conn, now, history.NewEvent("calendar_override_removed", actor=user,
                                                              data={"day": day.isoformat()}))
    engine.deadlines.invalidate()
    return bool(gone)


def overrides(engine) -> list[dict]:
    with read_transaction(engine.db) as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(calendar_override).order_by(calendar_override.c.day))]


def refresh(engine, *, only_provisional: bool = True) -> int:
    """Recompute working-day deadlines of open tasks and waiting timers; returns how many changed."""
    engine.deadlines.invalidate()
    changed = 0
    with read_transaction(engine.db) as conn:
        h = human_task.c
        q = sa.select(h.id, h.instance_id, h.due_rule, h.created_at, h.due_at, h.due_provisional).where(
            TASK_OPEN, h.due_rule.is_not(None))
        tasks = conn.execute(q.where(h.due_provisional.is_(True)) if only_provisional else q).all()
        t = timer.c
        tq = sa.select(t.task_id, t.instance_id, t.rule, t.armed_at, t.due_at, t.provisional).where(
            t.rule.is_not(None))
        timers = conn.execute(tq.where(t.provisional.is_(True)) if only_provisional else tq).all()
    for row in tasks:
        new = engine.deadlines.by_rule(row.due_rule, row.created_at)
        if (new.due, new.provisional) != (row.due_at, row.due_provisional):
            engine.recompute_deadline(row.instance_id, task_id=row.id, due=new.due, provisional=new.provisional,
                                      old=row.due_at)
            changed += 1
    for row in timers:
        new = engine.deadlines.by_rule(row.rule, row.armed_at)
        if new is None:
            continue
        if (new.due, new.provisional) != (row.due_at, row.provisional):
            engine.recompute_deadline(row.instance_id, timer_id=row.task_id, due=new.due,
                                      provisional=new.provisional, old=row.due_at)
            changed += 1
    return changed


def change(engine, day: date, user: str, *, working: bool | None = None, note: str | None = None) -> int:
    """The calendar page's action: mark `day` a working day or a holiday (`working`), or drop its
    override (`working` None), then recompute every working-day deadline, since a change may move
    any of them. Returns how many deadlines moved (each recomputed under its instance's lock)."""
    if working is None:
        remove_override(engine, day, user)
    else:
        set_override(engine, day, working, note, user)
    return refresh(engine, only_provisional=False)
