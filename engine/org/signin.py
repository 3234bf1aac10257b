"""Signing in to the pages, step by step: the password (or another first factor), then — for the
privileged roles — the second factor, then the page session.

`after_first_factor` is the one step every way in takes once a person is known (the password form
here; a single sign-on callback elsewhere): it decides whether they must give a TOTP code or enrol
an authenticator first, and whether their password must be changed (an administrator's reset, or
older than the policy allows for a privileged role). Until the second factor is given, the session
row has a `stage` and signs nobody in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.db.schema import staff, staff_role, web_session
from engine.db.transactions import read_transaction, write_transaction
from engine.org import lockout, sessions, two_factor
from engine.org.accounts import LOCKED, AuthenticationFailed, _attempt
from engine.org.roles import PRIVILEGED_ROLES

TWO_FACTOR = "two_factor"
ENROL = "enrol"
PENDING_LIFETIME = timedelta(minutes=10)     # between the password and the second factor


@dataclass(frozen=True)
class Policy:
    """How long a page session may last, and how old a privileged role's password may get."""

    session_lifetime: timedelta = timedelta(hours=12)
    password_max_age: timedelta | None = timedelta(days=90)


@dataclass(frozen=True)
class SignIn:
    """Where a sign-in stands: `stage` None means signed in (`secret` names the session); otherwise
    `secret` names a pending session at that stage. `must_change` is why a new password is due first
    ("reset", "expired") or None."""

    username: str
    secret: str
    stage: str | None = None
    must_change: str | None = None


def _roles(conn, username: str) -> set[str]:
    return {r for (r,) in conn.execute(sa.select(staff_role.c.role).where(staff_role.c.username == username))}


def needs_second_factor(conn, username: str) -> bool:
    return bool(_roles(conn, username) & PRIVILEGED_ROLES)


def password_due(conn, username: str, now: datetime, policy: Policy) -> str | None:
    """Why `username` must choose a new password before anything else, or None."""
    row = conn.execute(sa.select(staff.c.must_change_password, staff.c.password_changed_at, staff.c.created_at)
                       .where(staff.c.username == username)).one()
    if row.must_change_password:
        return "reset"
    changed = row.password_changed_at or row.created_at
    if (policy.password_max_age is not None and needs_second_factor(conn, username)
            and changed is not None and now - changed >= policy.password_max_age):
        return "expired"
    return None


def after_first_factor(conn, username: str, now: datetime, policy: Policy, address: str | None) -> SignIn:
    """The one step after a person proved who they are by a first factor: a session, or a pending one
    asking for the second factor (or for enrolling one)."""
    if needs_second_factor(conn, username):
        enrolled = two_factor.is_enrolled(conn, username)
        stage = TWO_FACTOR if enrolled else ENROL
        secret = sessions.open_session(conn, username, now, PENDING_LIFETIME, stage=stage,
                                       enrol_secret=None if enrolled else two_factor.new_secret())
        return SignIn(username, secret, stage)
    lockout.succeeded(conn, username, address, now)
    return SignIn(username, sessions.open_session(conn, username, now, policy.session_lifetime),
                  must_change=password_due(conn, username, now, policy))


def second_step(engine, secret: str, must_change: bool, policy: Policy, address: str | None) -> SignIn:
    """After any first factor opened the session `secret` (the password form, the directory, OIDC,
    CAS: `engine.signon.doors`): for a privileged role the session becomes a pending sign-in asking for
    the second factor (or enrolling one) — its cookie is not handed out before — otherwise it stands,
    with whether a new password is due first."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        row = sessions.live_row(conn, secret, now)
        if row is None:
            raise AuthenticationFailed("登录已超时，请重新登录", expired=True)
        if needs_second_factor(conn, row.username):
            enrolled = two_factor.is_enrolled(conn, row.username)
            stage = TWO_FACTOR if enrolled else ENROL
            sessions.make_pending(conn, secret, stage, None if enrolled else two_factor.new_secret(),
                                  now + PENDING_LIFETIME)
            return SignIn(row.username, secret, stage)
        lockout.succeeded(conn, row.username, address, now)
        return SignIn(row.username, secret, must_change="reset" if must_change else password_due(
            conn, row.username, now, policy))


def sign_in_to_pages(engine, username: str, password: str, policy: Policy, address: str | None) -> SignIn:
    """Check a username and password (from client `address`) and take `after_first_factor`, in the
    write that counts the attempt (a failure is recorded, then raised as `AuthenticationFailed`)."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        outcome = _attempt(conn, (username or "").strip(), password or "", now, address)
        if not isinstance(outcome, AuthenticationFailed):
            return after_first_factor(conn, outcome.username, now, policy, address)
    raise outcome


def sign_in_known(engine, username: str, policy: Policy, address: str | None) -> SignIn:
    """`after_first_factor` for a person another first factor identified (single sign-on)."""
    with write_transaction(engine.db) as conn:
        return after_first_factor(conn, username, engine.clock.now(), policy, address)


def pending(engine, secret: str | None) -> dict | None:
    """The pending sign-in `secret` names (username, stage, enrol_secret), or None when it has ended."""
    if not secret:
        return None
    with read_transaction(engine.db) as conn:
        row = sessions.pending_row(conn, secret, engine.clock.now())
    return None if row is None else {"username": row.username, "stage": row.stage, "enrol_secret": row.enrol_secret}


def second_factor(engine, secret: str | None, code: str, policy: Policy, address: str | None) -> SignIn:
    """Complete a pending sign-in with a TOTP or recovery code: a new session in place of the
    pending one. A wrong code counts as a failed sign-in; too many end the pending sign-in."""
    return _complete(engine, secret, code, policy, address, TWO_FACTOR)[0]


def enrol(engine, secret: str | None, code: str, policy: Policy, address: str | None) -> tuple[SignIn, list[str]]:
    """Complete a pending enrolment: the code shows the authenticator reads the secret; the person is
    signed in and gets their recovery codes (shown once)."""
    return _complete(engine, secret, code, policy, address, ENROL)


def _complete(engine, secret, code, policy: Policy, address, stage: str) -> tuple[SignIn, list[str]]:
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        row = sessions.pending_row(conn, secret, now) if secret else None
        if row is None or row.stage != stage:
            outcome = AuthenticationFailed("登录已超时，请重新登录", expired=True)
        elif lockout.refusal(conn, row.username, address, now) is not None:
            sessions.end_pending(conn, secret)
            outcome = AuthenticationFailed(LOCKED, expired=True)
        else:
            codes = (two_factor.enrol(conn, row.username, row.enrol_secret, code, now) if stage == ENROL
                     else ([] if two_factor.check_code(conn, row.username, code, now) else None))
            if codes is not None:
                sessions.end_pending(conn, secret)
                lockout.succeeded(conn, row.username, address, now)
                session = sessions.open_session(conn, row.username, now, policy.session_lifetime,
                                                sso_session=row.sso_session)
                return SignIn(row.username, session, must_change=password_due(conn, row.username, now, policy)), codes
            if lockout.failed(conn, row.username, address, now):
                sessions.end_pending(conn, secret)
                outcome = AuthenticationFailed(LOCKED, expired=True)
            else:
                outcome = AuthenticationFailed("验证码不正确")
    raise outcome


def pending_count(conn, username: str) -> int:
    """Pending sign-ins of `username` (tests)."""
    return conn.execute(sa.select(sa.func.count()).select_from(web_session).where(
        web_session.c.username == username, web_session.c.stage.is_not(None))).scalar_one()
