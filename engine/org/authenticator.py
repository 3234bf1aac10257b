"""A person's authenticator after enrolment: renewing the recovery codes, removing the authenticator
(a new phone, a lost one), and the security administrator's reset for someone who can no longer sign
in. Each is an event of the administration chain; none shows a secret or a code in the log.

- Renewing the recovery codes needs a current code (from the app, or an unused recovery code): a new
  set of ten is shown once, every older one stops working.
- A wrong code counts as a failed sign-in (the lockout of control 9): too many sign the person out.
- Removing one's own authenticator needs a current code too; it ends every session and token of the
  person, and the next sign-in enrols again (required for the privileged roles).
- The security administrator (安全管理员, 三员分立) may reset another person's authenticator —
  never their own, and no other administrator may: it ends the person's sessions and tokens, and
  the person is notified (like a password reset).
"""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import notification, recovery_code, staff
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Forbidden, Invalid, NotFound, Problem
from engine.org import admin_log, duties, lockout, sessions, two_factor
from engine.org.accounts import LOCKED, AuthenticationFailed
from engine.org.roles import SECURITY_ADMIN

WRONG_CODE = "验证码或恢复码不正确"


def status(engine, username: str) -> dict:
    """{enrolled, codes_left}: what the person's own page shows."""
    with read_transaction(engine.db) as conn:
        return {"enrolled": two_factor.is_enrolled(conn, username),
                "codes_left": conn.execute(sa.select(sa.func.count()).select_from(recovery_code).where(
                    recovery_code.c.username == username, recovery_code.c.used_at.is_(None))).scalar() or 0}


def _with_code(engine, username: str, code: str, address: str | None, action):
    """Run `action(conn, now)` if `code` is the person's current code or an unused recovery code. A
    wrong code counts as a failed sign-in (`engine.org.lockout`, so a stolen session cannot try every
    code): it is recorded even though the action is refused, and the failure that locks the name
    ends every session of the person (`AuthenticationFailed`, `expired`)."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        if not two_factor.is_enrolled(conn, username):
            outcome = Invalid("尚未设置双因素验证", [Problem("尚未设置双因素验证", field="code", code="not_enrolled")])
        elif lockout.refusal(conn, username, address, now) is not None:
            sessions.end_all(conn, username)
            outcome = AuthenticationFailed(LOCKED, expired=True)
        elif two_factor.check_code(conn, username, code, now):
            return action(conn, now)
        elif lockout.failed(conn, username, address, now):
            sessions.end_all(conn, username)
            outcome = AuthenticationFailed(LOCKED, expired=True)
        else:
            outcome = Invalid(WRONG_CODE, [Problem(WRONG_CODE, field="code", code="wrong_code")])
    raise outcome


def renew_codes(engine, username: str, code: str, address: str | None = None) -> list[str]:
    """A new set of recovery codes (shown once; the old ones end), proven by a current code."""
    def renew(conn, now):
        codes = two_factor.new_recovery_codes(conn, username, now)
        admin_log.record(conn, now, "recovery_codes_renewed", actor=username, data={"username": username})
        return codes
    return _with_code(engine, username, code, address, renew)


def remove_own(engine, username: str, code: str, address: str | None = None) -> None:
    """Remove one's own authenticator (proven by a current code): every session ends, the next
    sign-in enrols a new one."""
    def remove(conn, now):
        two_factor.remove(conn, username)
        sessions.end_all(conn, username)
        admin_log.record(conn, now, "two_factor_removed", actor=username, data={"username": username})
    _with_code(engine, username, code, address, remove)


def reset_for(engine, actor: str, username: str) -> None:
    """The security administrator removes someone else's authenticator (a lost phone and no recovery
    code): their sessions and tokens end, they enrol again at the next sign-in, and they are told."""
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        if SECURITY_ADMIN not in duties.roles_of(conn, actor):
            raise Forbidden("只有安全管理员可以重置他人的双因素验证")
        if actor == username:
            raise Forbidden("不能重置自己的双因素验证：请在“双因素验证”页用验证码或恢复码操作")
        if conn.execute(sa.select(staff.c.username).where(staff.c.username == username)).first() is None:
            raise NotFound(f"用户 {username} 不存在", field="username")
        if not two_factor.is_enrolled(conn, username):
            raise Invalid("该用户尚未设置双因素验证", [Problem("该用户尚未设置双因素验证", field="two_factor",
                                                               code="not_enrolled")])
        two_factor.remove(conn, username)
        sessions.end_all(conn, username)
        admin_log.record(conn, now, "two_factor_reset", actor=actor, data={"username": username})
        conn.execute(notification.insert().values(
            kind="two_factor_reset", recipient_user=username, created_at=now,
            title="你的双因素验证已被安全管理员重置",
            body=f"安全管理员 {actor} 重置了你的双因素验证，你所有的登录会话均已结束，下次登录须重新设置验证器。"
                 "如非你本人申请，请立即联系纪检监察室和信息科。"))
