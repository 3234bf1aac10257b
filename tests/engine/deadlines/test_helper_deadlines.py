"""Deadlines written with the script helpers (`working_days_from`, `working_days`, `monthly`) keep the
calendar's provisional flag and a rule, so `calendar refresh` and a hospital override recompute them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest

from engine.bpmn.validation import SourceFile
from engine.deadlines import calendar_admin, workdays
from engine.deadlines.workdays import BEIJING

pytestmark = pytest.mark.both_databases

_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="notice" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="acceptance_notice" name="受理告知">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="dueIn" value="{due}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="acceptance_notice"/>
    <bpmn:sequenceFlow id="f2" sourceRef="acceptance_notice" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
RECEIVED = datetime(2026, 12, 15, 1, tzinfo=timezone.utc)     # Tuesday 09:00 Beijing


def _end_of(d: str) -> datetime:
    return datetime.combine(date.fromisoformat(d) + timedelta(days=1), datetime.min.time(),
                            BEIJING).astimezone(timezone.utc)


def _start(engine, due: str, **data):
    engine.deploy([SourceFile("notice.bpmn", _DIAGRAM.format(due=due).encode())], deployed_by="admin")
    [task] = engine.start("notice", started_by="office", data=data).tasks
    return task


@pytest.fixture
def calendar_2027_published(monkeypatch):
    """As if a chinesecalendar release with 2027 were installed: 元旦 2027-01-01 (a Friday) is a holiday."""
    real = chinese_calendar.is_workday

    class Release:
        @staticmethod
        def is_workday(day):
            if day.year == 2027:
                return day.weekday() < 5 and day != date(2027, 1, 1)
            return real(day)

    def publish():
        monkeypatch.setattr(workdays, "_year_known", lambda year: 2004 <= year <= 2027)
        monkeypatch.setattr(workdays, "chinese_calendar", Release)
    return publish


def test_an_acceptance_notice_into_an_unknown_year_is_provisional_with_its_rule(engine, clock):
    """Received 2026-12-15: 15 working days reach into 2027, whose calendar is not published: 1 January
    counts as a weekday, so the notice is due at the end of 2027-01-05 — provisionally."""
    clock.set(RECEIVED)
    task = _start(engine, "working_days_from(received_on, 15)", received_on="2026-12-15")
    assert task.due_at == _end_of("2027-01-05")
    assert task.due_provisional is True
    assert task.due_rule == 'working_days_from("2026-12-15", 15)'


def test_calendar_refresh_moves_it_once_2027_is_published(engine, clock, calendar_2027_published):
    clock.set(RECEIVED)
    task = _start(engine, "working_days_from(received_on, 15)", received_on="2026-12-15")
    calendar_2027_published()
    assert calendar_admin.refresh(engine) == 1
    after = engine.task(task.id)
    assert after.due_at == _end_of("2027-01-06")      # 1 January not counted
    assert after.due_provisional is False
    [event] = [e for e in engine.events(task.instance_id) if e["type"] == "deadline_recomputed"]
    assert event["data"]["old"] == _end_of("2027-01-05").isoformat() and event["data"]["provisional"] is False


def test_a_hospital_override_moves_it_too(engine, clock):
    clock.set(RECEIVED)
    task = _start(engine, "working_days_from(received_on, 15)", received_on="2026-12-15")
    calendar_admin.set_override(engine, date(2026, 12, 31), False, "年终盘点", "admin")
    assert calendar_admin.refresh(engine, only_provisional=False) == 1
    after = engine.task(task.id)
    assert after.due_at == _end_of("2027-01-06")
    assert after.due_provisional is True                  # 2027 is still not published


def test_with_2027_published_it_is_due_on_6_january_and_not_provisional(engine, clock,
                                                                          calendar_2027_published):
    calendar_2027_published()
    clock.set(RECEIVED)
    task = _start(engine, "working_days_from(received_on, 15)", received_on="2026-12-15")
    assert task.due_at == _end_of("2027-01-06")
    assert task.due_provisional is False
    assert calendar_admin.refresh(engine, only_provisional=False) == 0


@pytest.mark.parametrize("due, data, rule", [
    ("working_days(3) if urgent else working_days(15)", {"urgent": False}, 'working_days_from("2026-12-15", 15)'),
    ("working_days_from(received_on, 15)", {"received_on": "2026-12-15T23:00:00+08:00"},
     'working_days_from("2026-12-15", 15)'),
    ("monthly(5, after=received_on)", {"received_on": "2026-12-15"},
     'monthly(5, shift="next_working_day", after="2026-12-15")'),
    ("monthly(5)", {}, "monthly(5)"),             # a rule by itself: counted from the task's creation
])
def test_every_deadline_helper_keeps_its_rule_and_flag(engine, clock, due, data, rule):
    clock.set(RECEIVED)
    task = _start(engine, due, **data)
    assert task.due_rule == rule
    assert task.due_provisional is True                   # each reaches into 2027
    assert calendar_admin.refresh(engine) == 0               # recomputing it gives the same moment


def test_a_deadline_not_made_by_a_calendar_helper_has_no_rule(engine, clock):
    clock.set(RECEIVED)
    task = _start(engine, "end_of_day(received_on)", received_on="2026-12-31")
    assert task.due_at == _end_of("2026-12-31")
    assert task.due_rule is None and task.due_provisional is False


_TIMER_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="t">
  <bpmn:process id="feedback" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="feedback_due" name="反馈期限">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:{kind} xsi:type="bpmn:tFormalExpression">{due}</bpmn:{kind}>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="feedback_due"/>
    <bpmn:sequenceFlow id="f2" sourceRef="feedback_due" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _timer(engine, kind: str, due: str, **data) -> dict:
    engine.deploy([SourceFile("feedback.bpmn", _TIMER_DIAGRAM.format(kind=kind, due=due).encode())],
                  deployed_by="admin")
    view = engine.start("feedback", started_by="office", data=data)
    [timer] = [t for t in engine.waiting_timers() if t["instance_id"] == view.id]
    return timer


@pytest.mark.parametrize("kind, due, data", [
    ("timeDate", "working_days_from(received_on, 15)", {"received_on": "2026-12-15"}),
    ("timeDuration", "working_days(days)", {"days": 15}),
])
def test_a_provisional_timer_written_with_a_helper_is_moved_by_calendar_refresh(engine, clock,
                                                                                  calendar_2027_published,
                                                                                  kind, due, data):
    """The clue's feedback wait, 15 working days from 2026-12-15, first counts 1 January 2027 as a
    working day (provisional); once 2027's calendar is published, `calendar refresh` moves it."""
    clock.set(RECEIVED)
    timer = _timer(engine, kind, due, **data)
    assert timer["due_at"] == _end_of("2027-01-05") and timer["provisional"] is True
    assert timer["rule"] == 'working_days_from("2026-12-15", 15)'
    calendar_2027_published()
    assert calendar_admin.refresh(engine) == 1
    [moved] = [t for t in engine.waiting_timers() if t["task_id"] == timer["task_id"]]
    assert moved["due_at"] == _end_of("2027-01-06") and moved["provisional"] is False
    clock.set(_end_of("2027-01-05") + timedelta(seconds=1))
    assert engine.fire_due_timers() == 0                      # not after the provisional day any more
    clock.set(_end_of("2027-01-06") + timedelta(seconds=1))
    assert engine.fire_due_timers() == 1
