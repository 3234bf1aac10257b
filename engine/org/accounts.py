"""Signing in: argon2 password hashes, lockout after repeated failures, page sessions and API bearer
tokens (a password change or reset ends every one of them: `sessions.end_all`)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.db.prepared import Prepared
from engine.db.transactions import is_sqlite, read_transaction, write_transaction
from engine.errors import EngineError, Invalid, Problem
from engine.org.people import Principal, principal, principal_from, principal_query
from engine.db.schema import api_token, notification, password_history, staff
from engine.org import admin_log, duties, lockout, sessions
from engine.org.lockout import LOCKOUT, MAX_FAILURES  # noqa: F401  (the numbers tests and pages name)

TOKEN_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 8
MIN_CLASSES = 3          # of lower case, upper case, digits, other characters
HISTORY = 5              # a new password may be none of the last HISTORY ones (nor the current one)
# Passwords that pass the length and class rules yet head every guessing list (compared casefolded).
COMMON = frozenset(p.casefold() for p in (
    "P@ssw0rd", "P@ssword1", "Passw0rd!", "Password1!", "Password@1", "Password@123", "Aa123456", "Aa123456!",
    "Aa123456.", "Abc123456", "Abc@123", "Abc@1234", "Abc@123456", "Abcd1234!", "Abcd@1234", "Admin@123",
    "Admin123!", "Admin@1234", "Admin@2024", "Admin@2025", "Admin@2026", "1qaz@WSX", "1qaz!QAZ", "1qaz2wsx!",
    "!QAZ2wsx", "Qwer1234!", "Qwer@1234", "Qwerty123!", "Qwe123!@#", "Zxcv1234!", "Asdf1234!", "Welcome1!",
    "Welcome@123", "Test@123", "Test1234!", "Root@123", "Huawei@123", "Sangfor@123", "Hospital@123",
    "Qinglian@123", "Qinglian2026!", "Changeme1!", "Letmein1!", "Iloveyou1!", "Woaini1314!", "Woaini@1314",
    "Aa111111", "Aa000000", "Aa888888", "Aa666666", "A1b2c3d4!", "Pa$$w0rd"))

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash("qinglian-dummy-password")


LOCKED = "失败次数过多，账户已临时锁定，请稍后再试"


class AuthenticationFailed(EngineError):
    """Wrong username or password, or a locked or inactive account. One message for all, on purpose."""

    code = "authentication_failed"


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash and verify passwords with `hasher` from now on. The test suite passes argon2 with a small
    cost: the product's cost is what makes each guess slow for an attacker, and it made thousands of
    test sign-ins slow too. A hash made under other parameters still verifies, and is renewed with
    these at its next sign-in, as after any change of parameters."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("qinglian-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(username: str, password: str) -> list[Problem]:
    """The level-3 rule: at least MIN_PASSWORD characters of MIN_CLASSES classes, not the username,
    not a common password. (Not a previous one: `set_password` checks the history.)"""
    password = password or ""
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if len(password) < MIN_PASSWORD:
        return [Problem(f"密码至少 {MIN_PASSWORD} 位", field="new_password", code="too_short")]
    if password.casefold() == username.casefold():
        return [Problem("密码不能与用户名相同", field="new_password", code="same_as_username")]
    if classes < MIN_CLASSES:
        return [Problem("密码须包含大写字母、小写字母、数字、符号中的至少三类", field="new_password",
                        code="too_simple")]
    if password.casefold() in COMMON:
        return [Problem("这是常见密码，容易被猜中，请换一个", field="new_password", code="common")]
    return []


def authenticate(db, username: str, password: str, now: datetime, address: str | None = None) -> Principal:
    """The principal for a correct username and password, from client `address`. Counts failures
    (`engine.org.lockout`); owns its transaction so that a failure is recorded even though it raises."""
    with write_transaction(db) as conn:
        outcome = _attempt(conn, (username or "").strip(), password or "", now, address)
    if isinstance(outcome, AuthenticationFailed):
        raise outcome
    return outcome


def _attempt(conn, username: str, password: str, now: datetime, address: str | None):
    """The principal, or the `AuthenticationFailed` to raise once the failure is committed. Every
    answer takes one argon2 verification, whether or not the name exists or is locked."""
    until = lockout.refusal(conn, username, address, now)
    row = conn.execute(sa.select(staff.c.username, staff.c.password_hash, staff.c.active, staff.c.sign_in_method)
                       .where(staff.c.username == username)).one_or_none()
    if until is not None:
        _verify(_DUMMY_HASH, password)
        return AuthenticationFailed(LOCKED, locked_until=until.isoformat())
    # A person whose one way in is the directory or single sign-on has no password here that counts.
    usable = row is not None and row.password_hash and row.active and row.sign_in_method == "local"
    if not _verify(row.password_hash if usable else _DUMMY_HASH, password) or not usable:
        return failure(conn, username, address, now)
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(staff.update().where(staff.c.username == row.username)
                     .values(password_hash=hash_password(password)))
    return principal(conn, row.username)


def failure(conn, username: str, address: str | None, now: datetime) -> AuthenticationFailed:
    """Count a failed password; the error to answer with (a lock it sets shows from the next attempt)."""
    lockout.failed(conn, username, address, now)
    return AuthenticationFailed("用户名或密码错误")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(conn, username: str, new_password: str, now: datetime, *, by: str | None = None) -> None:
    """Set a password, end the person's sessions and tokens, and log it. Set `by` someone else (an
    administrator's reset), the owner must choose a new one at next sign-in."""
    problems = check_new_password(username, new_password)
    if problems:
        raise Invalid("新密码不符合要求", problems)
    reset = by is not None and by != username
    duties.check_reset(conn, by, username)
    current = conn.execute(sa.select(staff.c.password_hash).where(staff.c.username == username)).scalar()
    previous = [r for (r,) in conn.execute(sa.select(password_history.c.password_hash)
                                          .where(password_history.c.username == username)
                                          .order_by(password_history.c.id.desc()).limit(HISTORY))]
    if any(_verify(h, new_password) for h in ([current] if current else []) + previous):
        raise Invalid("新密码不符合要求", [Problem(f"不能使用最近 {HISTORY} 次内曾经使用过的密码",
                                                   field="new_password", code="reused")])
    if current:
        conn.execute(password_history.insert().values(username=username, password_hash=current, replaced_at=now))
    conn.execute(staff.update().where(staff.c.username == username).values(
        password_hash=hash_password(new_password), password_changed_at=now, must_change_password=reset))
    sessions.end_all(conn, username)
    admin_log.record(conn, now, "password_reset" if reset else "password_changed", actor=by or username,
                     data={"username": username})
    if reset:
        _notify_reset(conn, username, by, now)


def _notify_reset(conn, username: str, by: str, now: datetime) -> None:
    """Tell the owner (in the app, and by e-mail where configured: the notification table is the
    outbox) that an administrator set their password: if they did not ask for it, they report it."""
    conn.execute(notification.insert().values(
        kind="password_reset", recipient_user=username, created_at=now,
        title="你的密码已被管理员重置",
        body=f"管理员 {by} 重置了你的登录密码，你所有的登录会话均已结束，下次登录须设置新密码。"
             "如非你本人申请，请立即联系纪检监察室和信息科。"))


def change_password(conn, username: str, old_password: str, new_password: str, now: datetime) -> None:
    row = conn.execute(sa.select(staff.c.password_hash).where(staff.c.username == username)).one_or_none()
    if row is None or not row.password_hash or not _verify(row.password_hash, old_password or ""):
        raise Invalid("原密码不正确", [Problem("原密码不正确", field="old_password", code="wrong_password")])
    set_password(conn, username, new_password, now)


# --- API tokens -----------------------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn, username: str, now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = now + TOKEN_LIFETIME
    conn.execute(api_token.delete().where(api_token.c.expires_at <= now))
    conn.execute(api_token.insert().values(token_hash=_digest(token), username=username,
                                           created_at=now, expires_at=expires))
    return token, expires


def token_principal(conn, token: str, now: datetime) -> Principal | None:
    """The holder of an unexpired `token`. Runs for every API request: compiled once and sent on the
    DBAPI cursor (SQLAlchemy's statement machinery cost as much as the query itself)."""
    return principal_from(_TOKEN_PRINCIPAL.fetch(conn, {"token_hash": _digest(token or ""), "now": now}))


_TOKEN_PRINCIPAL = Prepared(principal_query(sa.select(api_token.c.username).where(
    api_token.c.token_hash == sa.bindparam("token_hash", type_=sa.String),
    api_token.c.expires_at > sa.bindparam("now", type_=api_token.c.expires_at.type)).scalar_subquery()))


def revoke_token(conn, token: str) -> None:
    conn.execute(api_token.delete().where(api_token.c.token_hash == _digest(token or "")))


# --- the services the sign-in page and the API call -----------------------------------------------

def sign_in(engine, username: str, password: str, address: str | None = None) -> Principal:
    """`authenticate` at the engine's clock."""
    return authenticate(engine.db, username, password, engine.clock.now(), address)


def sign_in_for_token(engine, username: str, password: str, address: str | None = None) -> tuple[str, datetime]:
    """A new API token for a correct username and password, in the write that counts the attempt
    (a failure is recorded, then raised). A token asks no second factor (a program holds it, and
    it lasts TOKEN_LIFETIME); it is refused while the password must be changed."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        outcome = _attempt(conn, (username or "").strip(), password or "", now, address)
        if not isinstance(outcome, AuthenticationFailed):
            if conn.execute(sa.select(staff.c.must_change_password)
                            .where(staff.c.username == outcome.username)).scalar_one():
                outcome = AuthenticationFailed("密码已被管理员重置，请先在网页上登录并设置新密码")
            else:
                lockout.succeeded(conn, outcome.username, address, now)
                return issue_token(conn, outcome.username, now)
    raise outcome


def sign_in_to_pages(engine, username: str, password: str, lifetime: timedelta,
                     address: str | None = None) -> tuple[Principal, str, bool]:
    """A correct username and password: the person, a new session's secret (at most `lifetime`) and
    whether an administrator's reset requires a new password first. Every way in then takes
    `engine.org.signin.second_step` (the second factor, password expiry) before the session counts."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        outcome = _attempt(conn, (username or "").strip(), password or "", now, address)
        if not isinstance(outcome, AuthenticationFailed):
            must_change = conn.execute(sa.select(staff.c.must_change_password)
                                       .where(staff.c.username == outcome.username)).scalar_one()
            return outcome, sessions.open_session(conn, outcome.username, now, lifetime), bool(must_change)
    raise outcome


def principal_for_token(engine, token: str) -> Principal | None:
    """The holder of a valid, unexpired token, or None. One statement, so on SQLite it runs on its
    own, without BEGIN and COMMIT (a lone SELECT reads one snapshot): every API request pays for it."""
    if not is_sqlite(engine.db):
        with read_transaction(engine.db) as conn:       # PostgreSQL: autocommit, as every read
            return token_principal(conn, token, engine.clock.now())
    with engine.db.connect() as conn:                   # no autobegin: the statement goes on the DBAPI cursor
        return token_principal(conn, token, engine.clock.now())


def revoke(engine, token: str) -> None:
    with write_transaction(engine.db) as conn:
        revoke_token(conn, token)


def change_own_password(engine, username: str, old_password: str, new_password: str,
                        lifetime: timedelta) -> str:
    """`change_password` in a write of its own (`Invalid` naming the field at fault): every session and
    token of the person ends; the secret of a new session (at most `lifetime`) for the page that asked."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        change_password(conn, username, old_password, new_password, now)
        return sessions.open_session(conn, username, now, lifetime)
