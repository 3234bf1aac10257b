"""Failed sign-ins, counted so that a guesser is stopped but cannot lock the discipline office out.

Every failure — a wrong password, a wrong second-factor code, an unknown or inactive name — is
counted three ways in `login_attempt` (the source address only as a keyed hash):

- per name and source: `MAX_FAILURES` in a row lock that name *from that source* for `LOCKOUT`;
- per source: `SOURCE_MAX_FAILURES` failures under any names lock the source for `LOCKOUT`
  (someone trying many names, or one name many times from one machine);
- per name from every source: after `NAME_SLOW_AFTER` failures in a row, a name can be tried from a
  source it has never signed in from only once every `NAME_DELAY` (a CAPTCHA-free delay against
  guessing from many machines). A source the person signed in from within `KNOWN_SOURCE` is never
  delayed by it, and nothing ever locks the name itself: a stranger who knows an office member's
  username slows other strangers down, never the member at their own desk.

Names that do not exist are counted exactly like accounts, so the answers — wrong, then locked —
do not tell whether a username exists.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.db.schema import login_attempt

MAX_FAILURES = 5
SOURCE_MAX_FAILURES = 20
NAME_SLOW_AFTER = 10
NAME_DELAY = timedelta(seconds=30)
LOCKOUT = timedelta(minutes=15)
KNOWN_SOURCE = timedelta(days=90)
ANY = "*"


def source_key(address: str | None) -> str:
    """The stored form of a client address: a hash, so that the table lists no addresses."""
    return hashlib.sha256(f"qinglian-login:{address or 'unknown'}".encode()).hexdigest()


def _row(conn, username: str, source: str):
    return conn.execute(sa.select(login_attempt).where(login_attempt.c.username == username,
                                                       login_attempt.c.source == source)).one_or_none()


def refusal(conn, username: str, address: str | None, now: datetime) -> datetime | None:
    """Until when an attempt at `username` from `address` is refused unseen, or None to try it."""
    name, source = username[:64], source_key(address)
    conn.execute(login_attempt.delete().where(
        login_attempt.c.updated_at <= now - LOCKOUT, login_attempt.c.last_success_at.is_(None)))
    conn.execute(login_attempt.delete().where(login_attempt.c.updated_at <= now - KNOWN_SOURCE))
    pair, by_source, by_name = _row(conn, name, source), _row(conn, ANY, source), _row(conn, name, ANY)
    for row in (pair, by_source):
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return row.locked_until
    known = pair is not None and pair.last_success_at is not None and pair.last_success_at > now - KNOWN_SOURCE
    if (not known and by_name is not None and by_name.failed >= NAME_SLOW_AFTER
            and by_name.updated_at + NAME_DELAY > now):
        return by_name.updated_at + NAME_DELAY
    return None


def failed(conn, username: str, address: str | None, now: datetime) -> bool:
    """Count one failure three ways; True when the name (from this source) or the source is now locked."""
    name, source = username[:64], source_key(address)
    locked = False
    for key, limit in (((name, source), MAX_FAILURES), ((ANY, source), SOURCE_MAX_FAILURES),
                       ((name, ANY), None)):
        row = _row(conn, *key)
        failures = (row.failed if row is not None else 0) + 1
        lock = limit is not None and failures >= limit
        locked = locked or lock
        values = {"failed": 0 if lock else failures, "locked_until": now + LOCKOUT if lock else None,
                  "updated_at": now}
        if row is None:
            conn.execute(login_attempt.insert().values(username=key[0], source=key[1], **values))
        else:
            conn.execute(login_attempt.update().where(login_attempt.c.username == key[0],
                                                      login_attempt.c.source == key[1]).values(**values))
    return locked


def succeeded(conn, username: str, address: str | None, now: datetime) -> None:
    """A complete sign-in: the name's counts start again, and its source becomes a known one."""
    name, source = username[:64], source_key(address)
    conn.execute(login_attempt.delete().where(login_attempt.c.username == name, login_attempt.c.source == ANY))
    values = {"failed": 0, "locked_until": None, "last_success_at": now, "updated_at": now}
    if _row(conn, name, source) is None:
        conn.execute(login_attempt.insert().values(username=name, source=source, **values))
    else:
        conn.execute(login_attempt.update().where(login_attempt.c.username == name,
                                                  login_attempt.c.source == source).values(**values))
