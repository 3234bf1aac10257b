"""Processes started once per period: "every month by the 12th" as a timer start event.

A process whose start event is a timer with a calendar rule (`monthly(12)`) gets a schedule row
at deploy. The scheduler starts one small instance for each period that has come — catching up
periods missed while it was stopped — instead of one instance growing forever. Each start
advances the row's `next_at` with a guarded UPDATE in the instance's own transaction, so two
schedulers never start the same period twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from engine.deadlines.due import parse_monthly
from engine.db.schema import process_schedule


def timer_start(spec) -> tuple[str, str] | None:
    """(element id, rule) of a process's calendar-rule timer start event, if it has one."""
    for ts in spec.task_specs.values():
        ed = getattr(ts, "event_definition", None)
        if isinstance(ts, StartEvent) and isinstance(ed, TimerEventDefinition) \
                and parse_monthly(getattr(ed, "expression", "") or "") is not None:
            return ts.bpmn_id, ed.expression.strip()
    return None


def next_moment(deadlines, rule: str, after: datetime) -> datetime:
    """The start of the next period: the beginning of the rule's (shifted) day after `after`."""
    end_of_day = deadlines.by_rule(rule, after).due
    return end_of_day - timedelta(days=1)


def register(conn, deadlines, key: str, spec, now: datetime) -> None:
    """Create, update or drop the schedule of `key` to match its newly deployed version."""
    found = timer_start(spec)
    conn.execute(process_schedule.delete().where(process_schedule.c.process_key == key))
    if found:
        element, rule = found
        conn.execute(process_schedule.insert().values(process_key=key, element_id=element, rule=rule,
                                                      next_at=next_moment(deadlines, rule, now)))


def due(conn, now: datetime) -> list:
    return conn.execute(sa.select(process_schedule).where(process_schedule.c.next_at <= now)
                        .order_by(process_schedule.c.next_at)).all()


def advance(conn, row, deadlines) -> bool:
    """Move the schedule past `row.next_at`; False if another scheduler already did."""
    following = next_moment(deadlines, row.rule, row.next_at + timedelta(days=1))
    return conn.execute(process_schedule.update().where(
        process_schedule.c.process_key == row.process_key, process_schedule.c.next_at == row.next_at)
        .values(next_at=following)).rowcount == 1
