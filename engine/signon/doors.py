"""Each person has one way in (`staff.sign_in_method`): `local` (a password kept here: small hospitals
and break-glass accounts), `ldap` (the directory's password), `oidc` or `cas` (the hospital's single
sign-on). A password typed on the sign-in page goes to the directory for an `ldap` person, and for a
name unknown here when a directory is configured (the person's account is made from their entry);
a person of `oidc` or `cas` cannot sign in with a password, nor a `local` one through the portal."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.db.schema import department, staff, web_session
from engine.db.transactions import read_transaction, write_transaction
from engine.org import accounts, lockout, people, sessions
from engine.org.accounts import LOCKED, AuthenticationFailed
from engine.org.people import Principal
from engine.signon.ldap import Directory, Person, roles_of

METHODS = ("local", "ldap", "oidc", "cas")
WRONG = "用户名或密码错误"
NOT_THIS_WAY = "此账号不能用这种方式登录，请联系管理员"


def sign_in_with_password(eng, directory: Directory | None, username: str, password: str,
                          lifetime: timedelta, *, address: str | None = None) -> tuple[Principal, str, bool]:
    """The sign-in page's door: the person, their new session's secret and whether they must choose a
    new password first. `AuthenticationFailed` (one message for every wrong answer) otherwise."""
    username = (username or "").strip()
    with read_transaction(eng.db) as conn:
        method = conn.execute(sa.select(staff.c.sign_in_method).where(staff.c.username == username)).scalar()
    if directory is None or method not in (None, "ldap"):
        return accounts.sign_in_to_pages(eng, username, password, lifetime, address)
    now = eng.clock.now()
    _refuse_if_locked(eng, username, now, address)
    person = directory.authenticate(username, password)        # outside any transaction: a network call
    with write_transaction(eng.db) as conn:
        if person is None:
            outcome = accounts.failure(conn, username, address, now)
        else:
            apply_person(conn, directory, person, now, actor="ldap")
            who = people.principal(conn, person.username)
            if who is None:
                outcome = AuthenticationFailed(WRONG)          # deactivated here
            else:
                return who, sessions.open_session(conn, who.username, now, lifetime), False
    raise outcome


def _refuse_if_locked(eng, username: str, now: datetime, address: str | None) -> None:
    """The lockout of `engine.org.lockout`, before asking the directory."""
    with write_transaction(eng.db) as conn:             # the refusal sweeps stale counts
        until = lockout.refusal(conn, username, address, now)
    if until is not None:
        raise AuthenticationFailed(LOCKED, locked_until=until.isoformat())


def sign_in_from_portal(eng, method: str, username: str, lifetime: timedelta, *,
                        portal_session: str | None = None) -> tuple[Principal, str, bool]:
    """The single sign-on door (`oidc`, `cas`): the portal vouched for `username`; they must be an
    active person here whose way in is `method`. `portal_session` names the portal's session, which
    its single logout will name (`end_portal_session`)."""
    now = eng.clock.now()
    with write_transaction(eng.db) as conn:
        row = conn.execute(sa.select(staff.c.sign_in_method, staff.c.active)
                           .where(staff.c.username == (username or "").strip())).one_or_none()
        who = people.principal(conn, username) if row is not None and row.active else None
        if who is not None and row.sign_in_method == method:
            secret = sessions.open_session(conn, who.username, now, lifetime)
            if portal_session:
                conn.execute(web_session.update().where(web_session.c.id_hash == sessions._digest(secret))
                             .values(sso_session=portal_session[:255]))
            return who, secret, False
    raise AuthenticationFailed(NOT_THIS_WAY)


def end_portal_session(eng, portal_sessions: list[str]) -> int:
    """The portal signed a person out (OIDC back-channel logout, CAS single logout): end our sessions
    that came from those portal sessions. How many ended."""
    keys = [k[:255] for k in portal_sessions if k]
    if not keys:
        return 0
    with write_transaction(eng.db) as conn:
        return conn.execute(web_session.delete().where(web_session.c.sso_session.in_(keys))).rowcount


DIRECTORY_SYNC = "ldap-sync"     # the actor of the staff sync's changes (engine.signon.sync)


def apply_person(conn, directory: Directory, person: Person, now: datetime, *, actor: str) -> str | None:
    """Create or update the staff member `person` describes (name, department, mailbox, mobile, roles):
    'created', 'changed', 'reactivated' or None. Each change is an event of the administration log.

    A person the sync deactivated because the directory no longer had them is active again once the
    directory has them again (a returning member of staff); one an administrator deactivated stays
    inactive — the directory does not overrule the hospital's decision."""
    before = conn.execute(sa.select(staff).where(staff.c.username == person.username)).one_or_none()
    if before is not None and before.sign_in_method != "ldap":
        return None                     # a local break-glass account of the same name is not the directory's
    dept = directory.departments.get(person.department, person.department) if person.department else None
    known = set(conn.execute(sa.select(department.c.code)).scalars())
    values = {"username": person.username, "name": person.name, "department": dept if dept in known else None,
              "email": person.email, "roles": roles_of(person, directory.group_roles), "active": True}
    returning = before is not None and not before.active and before.deactivated_by == DIRECTORY_SYNC
    if before is not None:
        values.update(position_level=before.position_level, party_member=before.party_member,
                      public_employee=before.public_employee,
                      locale=before.locale, active=before.active or returning)
    roles_before = people.get_staff(conn, person.username)["roles"] if before is not None else None
    people.save_staff(conn, values, now, actor=actor)
    conn.execute(staff.update().where(staff.c.username == person.username)
                 .values(sign_in_method="ldap", phone=person.phone))
    if before is None:
        return "created"
    if returning:
        return "reactivated"
    was = (before.name, before.department, before.email, before.phone)
    now_ = (values["name"], values["department"], values["email"], person.phone)
    return "changed" if was != now_ or roles_before != values["roles"] else None


ADDRESSES = ("phone", "wecom_userid", "dingtalk_userid")


def way_in_form(eng, username: str) -> dict:
    """A person's way in and message addresses, for the administrator's page."""
    from engine.errors import NotFound
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(staff.c.username, staff.c.name, staff.c.sign_in_method,
                                     *(staff.c[a] for a in ADDRESSES)).where(staff.c.username == username)).one_or_none()
    if row is None:
        raise NotFound(f"人员 {username} 不存在", field="username")
    return dict(row._mapping)


def set_way_in(eng, username: str, values: dict, *, by: str) -> None:
    """An administrator sets a person's one way in and their message addresses. A change of the way in
    ends the person's sessions; every change is an event of the administration log."""
    from engine.errors import Invalid, NotFound, Problem
    from engine.org import admin_log
    method = values.get("sign_in_method")
    if method not in METHODS:
        raise Invalid("登录方式有误", [Problem("请选择登录方式", field="sign_in_method", code="choice")])
    phone = (values.get("phone") or "").strip()
    if phone and not (phone.lstrip("+").isdigit() and 6 <= len(phone) <= 20):
        raise Invalid("手机号有误", [Problem("请填写手机号码（数字）", field="phone", code="invalid")])
    row = {"sign_in_method": method, **{a: ((values.get(a) or "").strip() or None) for a in ADDRESSES}}
    now = eng.clock.now()
    with write_transaction(eng.db) as conn:
        before = conn.execute(sa.select(staff.c.sign_in_method, *(staff.c[a] for a in ADDRESSES))
                              .where(staff.c.username == username)).one_or_none()
        if before is None:
            raise NotFound(f"人员 {username} 不存在", field="username")
        changed = {k: [before._mapping[k], v] for k, v in row.items() if before._mapping[k] != v}
        if not changed:
            return
        conn.execute(staff.update().where(staff.c.username == username).values(**row))
        if "sign_in_method" in changed:
            sessions.end_all(conn, username)
        admin_log.record(conn, now, "sign_on_changed", actor=by, data={"username": username, "changed": changed})


def set_method(eng, username: str, method: str, *, by: str) -> None:
    """Set only the way in (keeping the addresses)."""
    set_way_in(eng, username, {**way_in_form(eng, username), "sign_in_method": method}, by=by)
