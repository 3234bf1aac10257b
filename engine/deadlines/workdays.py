"""Working days (工作日) on China's official calendar, plus this hospital's overrides.

Official Chinese deadlines ("reply within 15 working days") skip weekends and public holidays,
and count the make-up working days (调休) that the State Council moves onto some weekends. The
official calendar comes from the `chinesecalendar` package; each release knows a fixed range of
years (it raises NotImplementedError outside it), and the State Council publishes next year's
calendar only in Nov/Dec.

Conventions, the same everywhere in Qinglian:

* Counting is in Beijing time (Asia/Shanghai), whatever the timezone of the moment given.
* The day of `start` is day 0 and is never counted: "within 15 working days of receipt" starts
  counting the next day, even when the receipt day is itself a working day.
* A deadline is the END of its day: 24:00 Beijing, i.e. 00:00 Asia/Shanghai of the next calendar
  day, returned as a timezone-aware UTC datetime. So a task is still in time at that instant.
* Overrides (date -> True for an extra working day, False for a closure day), kept by
  administrators in the database, win over the official calendar.
* A day in a year the package does not know is counted on weekends only (Mon-Fri working), with
  overrides still applied, and the result is flagged `provisional` so it can be recomputed once
  a release with that year's calendar is installed (`qinglian calendar refresh`). Overrides do
  not make a year known: one override says nothing about the year's holidays.
* Every deadline computed carries a self-contained rule (`working_days_from("2026-12-15", 15)`,
  `monthly(5, shift=..., after=...)`) that `parse_rule` reads back, so a deadline asked for by any
  expression (a script helper inside a `dueIn`) can be recomputed; see `recording`.
* `working_days(0)` is not recognised by `parse_working_days` (it returns None), like anything
  that is not a positive count; the expression then goes to the script sandbox, whose
  `working_days` helper calls `add_working_days`, which rejects n < 1 with a clear ValueError.
"""
from __future__ import annotations

import ast
import calendar as _calendar
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterator, Mapping
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")

SHIFTS = ("next_working_day", "previous_working_day", "none")

_ONE_DAY = timedelta(days=1)
_WORKING_DAYS = re.compile(r"\s*working_days\s*\(\s*([0-9]+)\s*\)\s*")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Deadline:
    """A computed due moment, and whether it may move once the official calendar is known."""

    due: datetime          # timezone-aware (UTC)
    provisional: bool      # True when any day counted lies in a year the official calendar does not cover yet
    # The same computation as a self-contained rule (`working_days_from("2026-12-15", 15)`), which
    # `parse_rule` reads back: what a recomputation needs, whatever expression asked for it.
    rule: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        return {"due": self.due.isoformat(), "provisional": self.provisional}


_recorded: ContextVar[list | None] = ContextVar("recorded_deadlines", default=None)


@contextmanager
def recording() -> Iterator[list[Deadline]]:
    """Collect every deadline any calendar computes in this context (e.g. while a `dueIn`
    expression runs the script helpers), so that its flag and rule are not lost."""
    seen: list[Deadline] = []
    token = _recorded.set(seen)
    try:
        yield seen
    finally:
        _recorded.reset(token)


def _noted(deadline: Deadline) -> Deadline:
    seen = _recorded.get()
    if seen is not None:
        seen.append(deadline)
    return deadline


@lru_cache(maxsize=None)
def _year_known(year: int) -> bool:
    """Whether the installed `chinesecalendar` has data for `year`.

    Asked of the package itself (it raises NotImplementedError for years outside the range of
    its data) rather than copying its range, so upgrading the package is all it takes.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _holiday_name(english: str) -> str:
    """The Chinese name of a holiday the package names in English ("National Day" -> 国庆节)."""
    try:
        return chinese_calendar.Holiday(english).chinese
    except ValueError:
        return english


def end_of_day(day: date) -> datetime:
    """24:00 Beijing at the end of `day`, in UTC: the instant a deadline on `day` expires."""
    return datetime.combine(day + _ONE_DAY, time.min, BEIJING).astimezone(timezone.utc)


def _beijing_date(moment: datetime, what: str) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(BEIJING).date()


class WorkCalendar:
    """China's official working days plus the hospital's overrides; immutable once built."""

    def __init__(self, overrides: Mapping[date, bool] | None = None):
        self._overrides: dict[date, bool] = {d: bool(w) for d, w in (overrides or {}).items()}

    def is_known(self, day: date) -> bool:
        """Whether the official calendar covers `day`'s year (overrides do not make a year known)."""
        return _year_known(day.year)

    def is_working_day(self, day: date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        if self.is_known(day):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """The end of the n-th working day after the (Beijing) day of `start`, which is day 0."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"a working-day count must be a whole number of at least 1, got {n!r}")
        return self.working_days_from(_beijing_date(start, "start"), n)

    def working_days_from(self, day: date, n: int) -> Deadline:
        """The end of the n-th working day after `day` (day 0)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"a working-day count must be a whole number of at least 1, got {n!r}")
        rule = f'working_days_from("{day.isoformat()}", {n})'
        provisional = False
        counted = 0
        while counted < n:
            day += _ONE_DAY
            provisional = provisional or not self.is_known(day)
            if self.is_working_day(day):
                counted += 1
        return _noted(Deadline(end_of_day(day), provisional, rule))

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first working day after it."""
        return self._walk(day, _ONE_DAY)[0]

    def previous_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the last working day before it."""
        return self._walk(day, -_ONE_DAY)[0]

    def _walk(self, day: date, step: timedelta) -> tuple[date, bool]:
        """The first working day from `day` in direction `step`, and whether an unknown year was seen."""
        provisional = not self.is_known(day)
        while not self.is_working_day(day):
            day += step
            provisional = provisional or not self.is_known(day)
        return day, provisional

    def monthly(self, day_of_month: int, after: datetime, *, shift: str = "next_working_day") -> Deadline:
        """A monthly deadline such as "the report is due on the 12th".

        The occurrence is the first date whose day is `day_of_month` (clamped to the month's last
        day, so 31 means the end of February in February) that is strictly after the Beijing day
        of `after`; it is then moved by `shift`: to the next or the previous working day when it
        is not one, or not at all ("none"). An occurrence whose shifted day would not be after
        the day of `after` (the previous working day before a weekend 12th, asked on the 11th)
        is skipped for the next month's, so a new deadline never lies in the past.
        The deadline is the end of the resulting day. With shift="none" the calendar is not
        consulted, so the result is never provisional.
        """
        if isinstance(day_of_month, bool) or not isinstance(day_of_month, int) or not 1 <= day_of_month <= 31:
            raise ValueError(f"day_of_month must be a whole number from 1 to 31, got {day_of_month!r}")
        if shift not in SHIFTS:
            raise ValueError(f"shift must be one of {', '.join(SHIFTS)}; got {shift!r}")
        today = _beijing_date(after, "after")
        rule = f'monthly({day_of_month}, shift="{shift}", after="{today.isoformat()}")'
        year, month = today.year, today.month
        provisional = False
        while True:
            nominal = date(year, month, min(day_of_month, _calendar.monthrange(year, month)[1]))
            if nominal > today:
                if shift == "none":
                    return _noted(Deadline(end_of_day(nominal), False, rule))
                step = _ONE_DAY if shift == "next_working_day" else -_ONE_DAY
                day, unknown = self._walk(nominal, step)
                provisional = provisional or unknown
                if day > today:
                    return _noted(Deadline(end_of_day(day), provisional, rule))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def describe(self, day: date) -> str:
        """What `day` is, in a few words for the UI and error messages ("国庆节 (holiday)")."""
        if day in self._overrides:
            return "override: extra working day" if self._overrides[day] else "override: closure"
        weekend = day.weekday() >= 5
        if not self.is_known(day):
            plain = "weekend" if weekend else "working day"
            return f"{plain} (official {day.year} calendar not yet known; provisional)"
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        if name is not None and not is_holiday:
            return f"调休 working {_WEEKDAY_NAMES[day.weekday()]} ({_holiday_name(name)})"
        if name is not None:
            return f"{_holiday_name(name)} (holiday)"
        return "weekend" if weekend else "working day"


def parse_working_days(expression: str) -> int | None:
    """The n of the BPMN notation `working_days(n)` (spaces allowed), else None.

    Only positive counts are recognised: `working_days(0)` gives None (see the module docstring
    for why this is safe). Anything else, e.g. an ISO duration '"P2D"', is not ours: None.
    """
    if not isinstance(expression, str):
        return None
    match = _WORKING_DAYS.fullmatch(expression)
    if match is None:
        return None
    n = int(match.group(1))
    return n if n >= 1 else None


def parse_rule(expression: str) -> tuple[str, tuple, dict] | None:
    """A self-contained rule as `Deadline.rule` writes it — `working_days_from("2026-12-15", 15)`
    or `monthly(5, shift="next_working_day", after="2026-12-15")` — as (helper, args, kwargs) of
    literal values, else None. Read with `ast`, never evaluated."""
    if not isinstance(expression, str) or len(expression) > 200:
        return None
    try:
        call = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id in ("working_days_from", "monthly")):
        return None
    values = [*call.args, *(k.value for k in call.keywords)]
    if not all(isinstance(v, ast.Constant) for v in values) or any(k.arg is None for k in call.keywords):
        return None
    return call.func.id, tuple(a.value for a in call.args), {k.arg: k.value.value for k in call.keywords}
