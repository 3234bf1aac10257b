"""The one source of time and of ids for everything: engine, SpiffWorkflow's timers, scripts.

Tests and replays swap in a `FixedClock` and a seeded `IdSource`; production uses the system ones.
SpiffWorkflow has no clock parameter, so `install()` points the module globals it reads
(`timer.datetime`, `task.uuid4`) at whatever clock and id source are current.
"""
from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone


class SystemClock:
    """Wall-clock time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to; for tests, drills and replay."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("clock times must be timezone-aware")
        with self._lock:
            self._now = when.astimezone(timezone.utc)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


class IdSource:
    """uuid4-shaped ids; random by default, reproducible when seeded."""

    def __init__(self, seed: int | None = None):
        self._rng = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()

    def uuid(self) -> uuid.UUID:
        if self._rng is None:
            return uuid.uuid4()
        with self._lock:
            return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def token(self, nbytes: int = 16) -> str:
        return self.uuid().hex[: nbytes * 2]


_default_clock = SystemClock()
_default_ids = IdSource()
_current_clock: contextvars.ContextVar = contextvars.ContextVar("qinglian_clock", default=None)
_current_ids: contextvars.ContextVar = contextvars.ContextVar("qinglian_ids", default=None)


def current_clock():
    return _current_clock.get() or _default_clock


def current_ids() -> IdSource:
    return _current_ids.get() or _default_ids


@contextlib.contextmanager
def using(clock, ids: IdSource | None = None):
    """Make `clock` (and `ids`) the ones SpiffWorkflow and scripts see inside the block."""
    t1 = _current_clock.set(clock)
    t2 = _current_ids.set(ids) if ids is not None else None
    try:
        yield
    finally:
        _current_clock.reset(t1)
        if t2 is not None:
            _current_ids.reset(t2)


class _ClockDatetime(datetime):
    """Stands in for `datetime` inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz=None):
        value = current_clock().now()
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)

    @classmethod
    def utcnow(cls):
        return current_clock().now().replace(tzinfo=None)


_installed = False


def install() -> None:
    """Route SpiffWorkflow's time and task ids through the current clock and id source (idempotent)."""
    global _installed
    if _installed:
        return
    import SpiffWorkflow.bpmn.specs.event_definitions.timer as timer_module
    import SpiffWorkflow.task as task_module

    timer_module.datetime = _ClockDatetime
    task_module.uuid4 = lambda: current_ids().uuid()
    _installed = True
