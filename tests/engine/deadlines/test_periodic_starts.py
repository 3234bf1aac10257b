"""A monthly rule as a timer start event: one small instance per period, once, catching up."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine.db.schema import event, process_instance, process_schedule
from engine.deadlines.workdays import BEIJING

pytestmark = pytest.mark.both_databases


def _starts(db):
    """The business keys of the started instances, in the order they were started (their start events'
    order: a fixed clock gives periods started together one start time)."""
    i, e = process_instance.c, event.c
    with db.connect() as conn:
        return list(conn.execute(sa.select(i.business_key).join(event, e.instance_id == i.id)
                                 .where(e.type == "instance_started").order_by(e.id)).scalars())


def _beijing_day(moment):
    return moment.astimezone(BEIJING).date()


def test_each_month_on_the_12th_one_instance_is_started_moved_off_holidays(engine, deploy, db, clock):
    deploy("monthly_report_cycle.bpmn")
    with db.connect() as conn:
        first = conn.execute(sa.select(process_schedule.c.next_at)).scalar()
    assert _beijing_day(first) == date(2026, 10, 12)          # a Monday, a working day
    assert engine.run_schedules() == 0                         # not before the period
    clock.set(first + timedelta(minutes=1))
    assert engine.run_schedules() == 1
    assert engine.run_schedules() == 0                         # once per period
    [key] = _starts(db)
    assert key == "monthly_cycle-2026-10"
    [task] = engine.list_tasks()
    assert task.element_id == "report"                      # started past its timer start event
    with db.connect() as conn:
        nxt = conn.execute(sa.select(process_schedule.c.next_at)).scalar()
    expected = engine.deadlines.calendar().next_working_day(date(2026, 11, 12))
    assert _beijing_day(nxt) == expected


def test_periods_missed_while_stopped_are_started_in_order(engine, deploy, db, clock):
    deploy("monthly_report_cycle.bpmn")
    clock.set(datetime(2027, 1, 20, tzinfo=timezone.utc))   # stopped from October to January
    assert engine.run_schedules() == 4
    assert _starts(db) == ["monthly_cycle-2026-10", "monthly_cycle-2026-11", "monthly_cycle-2026-12",
                           "monthly_cycle-2027-01"]
