"""Escalation steps counted in working days from a due moment, with the 24:00 convention both ways."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.deadlines.due import Deadlines
from engine.deadlines.workdays import BEIJING

pytestmark = pytest.mark.both_databases


def _end_of(d: str) -> datetime:
    """24:00 Beijing at the end of day `d`, in UTC (the deadline convention)."""
    return datetime.combine(date.fromisoformat(d) + timedelta(days=1), datetime.min.time(),
                            BEIJING).astimezone(timezone.utc)


def test_two_working_days_after_a_wednesday_deadline_end_on_friday_not_monday(db):
    """Due at the end of Wed 2026-11-25: Thu and Fri are the two working days after it."""
    deadlines = Deadlines(db)
    assert deadlines.after(_end_of("2026-11-25"), "working_days(2)", evaluate=None) == _end_of("2026-11-27")


def test_two_working_days_after_a_friday_deadline_end_on_tuesday(db):
    deadlines = Deadlines(db)
    assert deadlines.after(_end_of("2026-11-27"), "working_days(2)", evaluate=None) == _end_of("2026-12-01")


def test_a_due_moment_inside_a_day_counts_from_that_day(db):
    deadlines = Deadlines(db)
    noon_wednesday = datetime(2026, 11, 25, 12, tzinfo=BEIJING)
    assert deadlines.after(noon_wednesday, "working_days(2)", evaluate=None) == _end_of("2026-11-27")


def test_reminder_and_escalation_mirror_each_other_around_the_due_day(db):
    deadlines = Deadlines(db)
    due = _end_of("2026-11-25")
    remind = deadlines.before(due, "working_days(2)", evaluate=None)
    escalate = deadlines.after(due, "working_days(2)", evaluate=None)
    assert remind == datetime(2026, 11, 23, tzinfo=BEIJING)          # start of Monday
    assert escalate == _end_of("2026-11-27")                         # end of Friday


def test_the_second_escalation_comes_two_working_days_after_the_first(engine, deploy, clock, db):
    """End to end: a task due end of Wed 2026-11-25 escalates to the department head when overdue and
    to the discipline office at the end of Fri 11-27 (not Mon 11-30)."""
    from engine.db.schema import human_task
    import sqlalchemy as sa
    clock.set(datetime(2026, 11, 4, 1, tzinfo=timezone.utc))   # Wed 11-04 09:00 Beijing: +15 = Wed 11-25
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    [task] = view.tasks
    assert task.due_at == _end_of("2026-11-25")
    clock.set(_end_of("2026-11-25") + timedelta(minutes=1))
    engine.sweep_deadlines()
    with db.connect() as conn:
        row = conn.execute(sa.select(human_task).where(human_task.c.id == task.id)).one()
    assert row.escalation_level == 1
    assert row.next_escalation_at == _end_of("2026-11-27")
