"""Deadlines in working days on tasks and timers; reminders and escalation, each sent once."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa


from engine.deadlines import calendar_admin, notifications
from engine.db.schema import notification, timer
from engine.deadlines.workdays import BEIJING
from tests.conftest import START

pytestmark = pytest.mark.both_databases

# START is Monday 2026-09-28 09:00 Beijing: a clue received that morning.


def _beijing(d: str) -> datetime:
    """24:00 at the end of day `d` in Beijing, i.e. the deadline convention, in UTC."""
    day = date.fromisoformat(d) + timedelta(days=1)
    return datetime.combine(day, datetime.min.time(), BEIJING).astimezone(timezone.utc)


def _expected_15():
    from engine.deadlines.workdays import WorkCalendar
    return WorkCalendar().add_working_days(START, 15).due


def test_a_reply_is_due_15_working_days_later_across_national_day(engine, deploy, db):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    [task] = view.tasks
    due = task.due_at
    # 09-29, 09-30, (国庆 10-01..07), 10-08, 10-09, Saturday 10-10 (调休), 10-12..16, 10-19..23
    assert due == _beijing("2026-10-23") == _expected_15()
    assert task.due_provisional is False and task.due_rule == "working_days(15)"
    assert (task.candidate_role, task.candidate_department) == ("staff", "neike")
    with db.connect() as conn:
        [t] = conn.execute(sa.select(timer)).all()
    assert t.element_id == "late" and t.due_at == due     # the boundary timer counts the same working days


def test_the_reply_timer_fires_on_the_16th_working_day_not_before(engine, deploy, clock):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    due = _expected_15()
    clock.set(due)                                        # 24:00 of the 15th working day: still in time
    assert engine.fire_due_timers() == 0
    clock.set(due + timedelta(seconds=1))                  # the first moment of the 16th
    assert engine.fire_due_timers() == 1
    fired = [e for e in engine.events(view.id) if e["type"] == "timer_fired"]
    assert [e["element_id"] for e in fired] == ["late"] and fired[0]["data"]["due_at"] == due.isoformat()
    assert [t.element_id for t in engine.show(view.id).tasks] == ["reply"]   # the reply is still awaited


def test_reminder_then_escalation_each_sent_once(engine, deploy, clock, db):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    [task] = view.tasks
    due = task.due_at
    remind_at = task.remind_at
    assert START < remind_at < due
    clock.set(remind_at - timedelta(seconds=1))
    engine.sweep_deadlines()
    assert _kinds(db) == []
    clock.set(remind_at)
    engine.sweep_deadlines()
    engine.sweep_deadlines()                               # a second scheduler tick: nothing new
    assert _kinds(db) == [("reminder", "staff", "neike")]
    clock.set(due)
    engine.fire_due_timers()
    engine.sweep_deadlines()
    assert _kinds(db)[-1] == ("escalation", "department_head", "neike")
    clock.set(due + timedelta(days=1))
    engine.sweep_deadlines()
    assert len(_kinds(db)) == 2                            # level 2 waits 2 working days
    clock.set(due + timedelta(days=10))
    engine.sweep_deadlines()
    engine.sweep_deadlines()
    assert _kinds(db)[-1] == ("escalation", "discipline_office", None) and len(_kinds(db)) == 3
    types = [e["type"] for e in engine.events(view.id)]
    assert types.count("task_reminded") == 1 and types.count("task_escalated") == 2
    engine.cache.clear()                                   # a restart does not repeat anything
    engine.sweep_deadlines()
    assert len(_kinds(db)) == 3


def test_notifications_have_an_unread_count_per_person(engine, deploy, clock, db):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    clock.set(view.tasks[0].remind_at)
    engine.sweep_deadlines()
    assert notifications.unread_count(db, "zhang", ["staff"], "neike") == 1
    assert notifications.unread_count(db, "li", ["staff"], "waike") == 0      # another department
    [n] = notifications.for_user(db, "zhang", ["staff"], "neike")
    assert n["title"].startswith("任务即将到期") and n["read"] is False
    notifications.mark_read(db, "zhang", [n["id"]], clock.now())
    assert notifications.unread_count(db, "zhang", ["staff"], "neike") == 0


def test_a_claimed_task_reminds_its_assignee(engine, deploy, clock, db):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    engine.claim(view.tasks[0].id, user="zhang")
    clock.set(view.tasks[0].remind_at)
    engine.sweep_deadlines()
    with db.connect() as conn:
        assert conn.execute(sa.select(notification.c.recipient_user).where(
            notification.c.kind == "reminder")).scalars().all() == ["zhang"]


def test_an_override_moves_open_deadlines_and_records_it(engine, deploy, db):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    before = view.tasks[0].due_at
    closure = date(2026, 9, 29)          # a Tuesday: the hospital is closed (e.g. a power cut)
    calendar_admin.set_override(engine, closure, False, "停电", "admin")
    assert calendar_admin.refresh(engine, only_provisional=False) == 2        # the task and its timer
    after = engine.task(view.tasks[0].id).due_at
    assert after > before
    with db.connect() as conn:
        assert conn.execute(sa.select(timer.c.due_at)).scalar() == after
    recomputed = [e for e in engine.events(view.id) if e["type"] == "deadline_recomputed"]
    assert len(recomputed) == 2 and recomputed[0]["data"]["old"] == before.isoformat()
    assert calendar_admin.refresh(engine, only_provisional=False) == 0        # idempotent


def _kinds(db):
    with db.connect() as conn:
        return [(r.kind, r.recipient_role, r.recipient_department) for r in conn.execute(
            sa.select(notification).where(notification.c.recipient_user.is_(None),
                                          notification.c.kind != notifications.NEW_TASK).order_by(notification.c.id))]


def test_a_deadline_in_an_unknown_year_is_provisional_and_recomputed(engine, deploy, clock, db):
    """2027's official calendar is not published in chinesecalendar 1.11.0: weekends only, flagged."""
    clock.set(datetime(2026, 12, 28, 1, tzinfo=timezone.utc))
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    [task] = view.tasks
    assert task.due_provisional is True
    # 12-29, 12-30, 12-31, then 2027 on weekdays only: 01-01 counts (unknown holiday) ... 15th is 01-18
    assert task.due_at == _beijing("2027-01-18")
    with db.connect() as conn:
        assert conn.execute(sa.select(timer.c.provisional)).scalar() is True
    calendar_admin.set_override(engine, date(2027, 1, 1), False, "元旦 (announced)", "admin")
    assert calendar_admin.refresh(engine) == 2                      # only provisional ones
    assert engine.task(task.id).due_at == _beijing("2027-01-19")
    assert engine.task(task.id).due_provisional is True         # 2027 is still not official
    assert [e["data"]["provisional"] for e in engine.events(view.id) if e["type"] == "deadline_recomputed"] \
        == [True, True]


def _overdue_kinds(engine, clock, db, xml: bytes, data: dict) -> list:
    from engine.bpmn.validation import SourceFile
    engine.deploy([SourceFile("deadline_task.bpmn", xml)], deployed_by="admin")
    view = engine.start("deadline_task", started_by="office", data=data)
    [task] = view.tasks
    clock.set(task.due_at + timedelta(days=10))
    engine.fire_due_timers()
    engine.sweep_deadlines()
    engine.sweep_deadlines()
    return [k for k in _kinds(db) if k[0] == "escalation"]


def test_an_overdue_confidential_task_is_told_to_the_office_only(engine, clock, db, people):
    # issue 20, item 9: an overdue voluntary disclosure (主动说明) told every department head that one
    # existed. A confidential process's overdue task escalates to the discipline office, not to a head
    # (neike_head) who holds none of its roles.
    from tests.conftest import bpmn
    xml = bpmn("deadline_task.bpmn").replace(
        b'isExecutable="true">',
        b'isExecutable="true"><bpmn:extensionElements><spiffworkflow:properties>'
        b'<spiffworkflow:property name="confidential" value="discipline_office" />'
        b'</spiffworkflow:properties></bpmn:extensionElements>', 1)
    assert _overdue_kinds(engine, clock, db, xml, {"department": "neike"}) == [
        ("escalation", "discipline_office", None)]


def test_an_overdue_task_of_no_department_goes_to_the_office_not_to_every_head(engine, clock, db):
    # a task whose lane names no department (or whose rule gave none) has no head to tell
    from tests.conftest import bpmn
    assert _overdue_kinds(engine, clock, db, bpmn("deadline_task.bpmn"), {"department": None}) == [
        ("escalation", "discipline_office", None)]
