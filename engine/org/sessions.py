"""Page sessions kept on the server (run time of a signed-in browser), and ending every credential
a person holds.

The signed cookie carries only a random secret; its SHA-256 is the `web_session` row. A session ends
when its person signs out, after `idle` without a request, at its absolute `expires_at`, and when
`end_all` runs — on a password change, a reset, a role change or a deactivation — which also revokes
the person's API tokens. A replayed cookie then names no row and is refused.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.db.schema import api_token, web_session
from engine.db.transactions import read_transaction, write_transaction
from engine.org.people import Principal, principal

# A request writes `last_seen_at` at most this often: idle limits are minutes, not seconds.
TOUCH = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(conn, username: str, now: datetime, lifetime: timedelta, *, stage: str | None = None,
                 enrol_secret: str | None = None, sso_session: str | None = None) -> str:
    """A new session for `username`, lasting at most `lifetime`: the secret for the cookie. With a
    `stage` it is a pending sign-in (`engine.org.signin`), which signs nobody in."""
    secret = secrets.token_urlsafe(32)
    conn.execute(web_session.delete().where(web_session.c.expires_at <= now))
    conn.execute(web_session.insert().values(id_hash=_digest(secret), username=username, created_at=now,
                                             last_seen_at=now, expires_at=now + lifetime, stage=stage,
                                             enrol_secret=enrol_secret, sso_session=sso_session))
    return secret


def live_row(conn, secret: str, now: datetime):
    return conn.execute(sa.select(web_session).where(web_session.c.id_hash == _digest(secret),
                                                     web_session.c.expires_at > now)).one_or_none()


def make_pending(conn, secret: str, stage: str, enrol_secret: str | None, expires_at: datetime) -> None:
    """Turn a just-opened session into a pending sign-in (its cookie not yet handed out)."""
    conn.execute(web_session.update().where(web_session.c.id_hash == _digest(secret))
                 .values(stage=stage, enrol_secret=enrol_secret, expires_at=expires_at))


def pending_row(conn, secret: str, now: datetime):
    """The live pending sign-in `secret` names, or None."""
    return conn.execute(sa.select(web_session).where(
        web_session.c.id_hash == _digest(secret), web_session.c.stage.is_not(None),
        web_session.c.expires_at > now)).one_or_none()


def end_pending(conn, secret: str) -> None:
    conn.execute(web_session.delete().where(web_session.c.id_hash == _digest(secret),
                                            web_session.c.stage.is_not(None)))


def end_all(conn, username: str) -> None:
    """End every page session and revoke every API token of `username`."""
    conn.execute(web_session.delete().where(web_session.c.username == username))
    conn.execute(api_token.delete().where(api_token.c.username == username))


def session_principal(eng, secret: str | None, *, idle: timedelta) -> Principal | None:
    """The active person a live session belongs to, or None (unknown, ended, idle or expired: the
    row goes). Marks the session used, at most once every TOUCH."""
    if not secret:
        return None
    key, now = _digest(secret), eng.clock.now()
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(web_session).where(web_session.c.id_hash == key,
                                                        web_session.c.stage.is_(None))).one_or_none()
        if row is not None and _live(row, now, idle) and now - row.last_seen_at < TOUCH:
            return principal(conn, row.username)
    if row is None:
        return None
    with write_transaction(eng.db) as conn:
        if not _live(row, now, idle):
            conn.execute(web_session.delete().where(web_session.c.id_hash == key))
            return None
        conn.execute(web_session.update().where(web_session.c.id_hash == key).values(last_seen_at=now))
        return principal(conn, row.username)


def _live(row, now: datetime, idle: timedelta) -> bool:
    return now < row.expires_at and now - row.last_seen_at < idle


def end_session(eng, secret: str | None) -> None:
    """Sign out: the session's row goes, so its cookie is worth nothing any more."""
    if secret:
        with write_transaction(eng.db) as conn:
            conn.execute(web_session.delete().where(web_session.c.id_hash == _digest(secret)))
