"""Due moments: ISO 8601 durations and dates, and working days on the hospital's calendar.

A due expression (a timer, a task's `dueIn`, `remindBefore`, `escalateAfter`) is either a
working-day rule — `working_days(15)`, counted on China's official calendar plus this hospital's
overrides (engine.workdays) — or a Python expression giving an ISO 8601 duration or date.
A working-day deadline that reaches into a year whose official calendar is not published yet is
computed on weekends only and marked provisional, to be recomputed by `qinglian calendar refresh`.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.db.schema import calendar_override
from engine.deadlines.workdays import BEIJING, WorkCalendar, parse_rule, parse_working_days, recording

_MONTHLY = re.compile(r"^\s*monthly\(\s*(\d{1,2})\s*\)\s*$")


def parse_monthly(expression: str) -> int | None:
    """`monthly(12)`: every month on the 12th (moved to the next working day on a holiday)."""
    m = _MONTHLY.match(expression or "")
    return int(m.group(1)) if m and 1 <= int(m.group(1)) <= 31 else None


@dataclass(frozen=True)
class Due:
    at: datetime | None
    provisional: bool = False
    rule: str | None = None          # the working-day rule it came from, for recomputation


def due_from_value(value, now: datetime) -> datetime | None:
    """`value` is what a due expression evaluated to: an ISO duration/date string or a datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    if text.startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(text)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    return TimerEventDefinition.get_datetime(text)


def timer_definition(task) -> TimerEventDefinition | None:
    """The timer a task waits on: its own, or one of an event-based gateway's events."""
    ed = getattr(task.task_spec, "event_definition", None)
    if isinstance(ed, TimerEventDefinition):
        return ed
    for sub in getattr(ed, "event_definitions", None) or ():   # MultipleEventDefinition
        if isinstance(sub, TimerEventDefinition):
            return sub
    return None


def timer_due(task) -> datetime | None:
    """When a WAITING timer task falls due, from what SpiffWorkflow computed for it.

    For an event-based gateway SpiffWorkflow keeps the due moment in the gateway's own
    internal data, not in the catch event's details.
    """
    ed = task.task_spec.event_definition
    value = ed.details(task).value if isinstance(ed, TimerEventDefinition) else task.internal_data.get("event_value")
    if value is None:
        return None
    if isinstance(value, dict):  # cycle: {'cycles': n, 'next': iso, 'duration': s}
        value = value.get("next")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return TimerEventDefinition.get_datetime(value)


def _traced(at: datetime | None, seen: list, slack: timedelta = timedelta(0)) -> Due:
    """A due moment an expression computed, with the flag and the rule of the calendar deadline
    it is — when exactly one was computed and the moment is that one (within `slack`). Several
    computed (a `max` of two...): still provisional if any was, but no rule could recompute the
    choice."""
    if at is None or not seen:
        return Due(at)
    rules = {d.rule for d in seen}
    if len(rules) == 1 and abs(seen[0].due - at) <= slack:
        return Due(at, seen[0].provisional, seen[0].rule)
    return Due(at, any(d.provisional for d in seen))


def hospital_calendar(conn) -> WorkCalendar:
    """The official calendar with the hospital's overrides, read on `conn` (e.g. an operation's)."""
    return WorkCalendar({r.day: r.working for r in conn.execute(
        sa.select(calendar_override.c.day, calendar_override.c.working))})


class Deadlines:
    """The calendar (official + overrides from the database) and due computations on it."""

    def __init__(self, db, ttl: float = 30.0):
        self.db = db
        self.ttl = ttl             # other nodes' override edits are seen within this many seconds
        self._calendar: WorkCalendar | None = None
        self._loaded = 0.0
        self._lock = threading.Lock()

    def calendar(self) -> WorkCalendar:
        with self._lock:
            if self._calendar is None or time.monotonic() - self._loaded > self.ttl:
                with self.db.connect() as conn:
                    self._calendar = hospital_calendar(conn)
                self._loaded = time.monotonic()
            return self._calendar

    def invalidate(self) -> None:
        with self._lock:
            self._calendar = None

    def due(self, expression: str | None, now: datetime, evaluate, *, slack: timedelta = timedelta(0)) -> Due:
        """Evaluate a due expression at `now`; `evaluate(expression)` runs anything else in the sandbox.
        `slack`: how far the moment may lie from the one calendar deadline the expression computed
        and still be that deadline (a duration timer is armed in whole seconds from its own now)."""
        if not expression:
            return Due(None)
        d = self.by_rule(expression, now)
        if d is not None:
            return Due(d.due, d.provisional, expression.strip())
        with recording() as seen:       # the script helpers' deadlines: working_days_from(...) etc.
            at = due_from_value(evaluate(expression), now)
        return _traced(at, seen, slack)

    def by_rule(self, expression: str, start: datetime):
        """A calendar rule (`working_days(n)`, `monthly(d)`) from `start`, or a self-contained one
        as `Deadline.rule` writes it (which ignores `start`); None if it is not one."""
        n = parse_working_days(expression)
        if n is not None:
            return self.calendar().add_working_days(start, n)
        day = parse_monthly(expression)
        if day is not None:
            return self.calendar().monthly(day, start)
        rule = parse_rule(expression)
        if rule is None:
            return None
        name, args, kwargs = rule
        try:
            if name == "working_days_from":
                day, n = args
                return self.calendar().working_days_from(date.fromisoformat(day), n)
            [day_of_month] = args
            after = datetime.combine(date.fromisoformat(kwargs.pop("after")), datetime.min.time(), BEIJING)
            return self.calendar().monthly(day_of_month, after, **kwargs)
        except (TypeError, ValueError, KeyError):
            return None

    def before(self, due: datetime, expression: str, evaluate) -> datetime:
        """The moment `expression` (working days or an ISO duration) before `due`."""
        n = parse_working_days(expression)
        if n is not None:
            return self.working_days_before(due, n)
        value = evaluate(expression)
        text = str(value).strip()
        parsed = TimerEventDefinition.parse_iso_duration(text)
        return due - TimerEventDefinition.get_timedelta_from_start(parsed, due)

    def after(self, due: datetime, expression: str, evaluate) -> datetime:
        """The moment `expression` (working days or an ISO duration) after `due`.

        Working days count from the day `due` belongs to: a due of 24:00 is the end of the day
        before (as in `working_days_before`), so "2 working days after the end of Wednesday"
        ends on Friday, not on Monday.
        """
        n = parse_working_days(expression)
        if n is not None:
            return self.calendar().add_working_days(due - timedelta(microseconds=1), n).due
        return due_from_value(evaluate(expression), due)

    def working_days_before(self, due: datetime, n: int) -> datetime:
        """The start of the working day that lies n working days before the day of `due`."""
        cal = self.calendar()
        local = due.astimezone(BEIJING)
        day: date = (local - timedelta(microseconds=1)).date()   # a due of 24:00 belongs to the day before
        counted = 0
        while counted < n:
            day -= timedelta(days=1)
            if cal.is_working_day(day):
                counted += 1
        return datetime.combine(day, datetime.min.time(), BEIJING).astimezone(timezone.utc)
