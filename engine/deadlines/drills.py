"""Drills: a sandbox database runs on a virtual clock that process owners move by hand.

`qinglian init-db --sandbox` marks a database as a sandbox; only then do `qinglian clock set`
and `qinglian clock advance` work. Every process on that database (server, schedulers, CLI)
reads the same virtual time from the `setting` table, so a whole campaign can be walked through
in minutes. A normal database refuses these commands.
"""
from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from engine.db.transactions import write_transaction
from engine.errors import Forbidden, Invalid, Problem
from engine.db.schema import setting

SANDBOX = "sandbox"
VIRTUAL_NOW = "virtual_now"
_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def is_sandbox(db) -> bool:
    with db.connect() as conn:
        return conn.execute(sa.select(setting.c.value).where(setting.c.key == SANDBOX)).scalar() == "1"


def make_sandbox(db, start: datetime) -> None:
    with write_transaction(db) as conn:
        _put(conn, SANDBOX, "1")
        _put(conn, VIRTUAL_NOW, start.astimezone(timezone.utc).isoformat())


def _put(conn, key: str, value: str) -> None:
    if conn.execute(setting.update().where(setting.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(setting.insert().values(key=key, value=value))


def _require_sandbox(conn) -> datetime:
    if conn.execute(sa.select(setting.c.value).where(setting.c.key == SANDBOX)).scalar() != "1":
        raise Forbidden("this is not a sandbox database: its clock is the real one "
                        "(create a drill database with `qinglian init-db --sandbox`)")
    return datetime.fromisoformat(conn.execute(
        sa.select(setting.c.value).where(setting.c.key == VIRTUAL_NOW)).scalar())


def set_clock(db, when: datetime) -> datetime:
    if when.tzinfo is None:
        raise Invalid("the time needs a UTC offset", [Problem("e.g. 2026-09-28T09:00:00+08:00", field="time")])
    with write_transaction(db) as conn:
        current = _require_sandbox(conn)
        if when < current:
            raise Invalid("a drill clock only moves forward",
                          [Problem(f"{when.isoformat()} is before the current {current.isoformat()}", field="time")])
        _put(conn, VIRTUAL_NOW, when.astimezone(timezone.utc).isoformat())
    return when


def advance_clock(db, amount: str) -> datetime:
    m = _DURATION.match(amount or "")
    if not m:
        raise Invalid("cannot read the duration", [Problem(f"'{amount}': write e.g. 3d, 12h, 30m or 45s",
                                                           field="duration")])
    delta = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    with write_transaction(db) as conn:
        now = _require_sandbox(conn) + delta
        _put(conn, VIRTUAL_NOW, now.isoformat())
    return now


class VirtualClock:
    """The sandbox database's clock, re-read at most every `ttl` seconds."""

    def __init__(self, db, ttl: float = 0.2):
        self.db = db
        self.ttl = ttl
        self._value = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at > self.ttl:
                with self.db.connect() as conn:
                    text = conn.execute(sa.select(setting.c.value).where(setting.c.key == VIRTUAL_NOW)).scalar()
                self._value = datetime.fromisoformat(text)
                self._read_at = time.monotonic()
            return self._value
