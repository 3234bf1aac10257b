"""Separation of duties (三员分立, GB/T 22239-2019 level 3): the system administrator, the security
administrator and the audit administrator are three roles held by three people, and no
administrator can both grant the office's roles and use them.

- `admin` (系统管理员) keeps the organisation: staff records, departments, the calendar, imports,
  and the ordinary roles (staff, department head, task force, leadership group);
- `security_admin` (安全管理员) alone grants or removes a privileged role (`PRIVILEGED_ROLES`: the
  discipline office, auditors, process owners and the three administrators) and resets the password
  of a person holding one;
- `audit_admin` (安全审计员) reads the administration log and the audit desk, and changes nothing.

Whatever the administrator: nobody changes their own roles; a person holds at most one of the three
administrator roles, and an administrator holds none of the roles that work with the office's
records (`OFFICE_ROLES`). An account the system itself changes (the demo, the command line, the
directory's sync: an actor who is no member of staff) is not checked against an actor, but its roles
are still checked for these combinations.
"""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import staff, staff_role
from engine.errors import Forbidden, Invalid, Problem
from engine.org.roles import (ADMIN, AUDIT_ADMIN, AUDITOR, DISCIPLINE_OFFICE, LEADERSHIP_GROUP, PRIVILEGED_ROLES,
                              PROCESS_OWNER, SECURITY_ADMIN, TASK_FORCE)

ADMINISTRATORS = frozenset({ADMIN, SECURITY_ADMIN, AUDIT_ADMIN})
# The roles that read or act on clues, disclosures and processes: never an administrator's.
OFFICE_ROLES = frozenset({DISCIPLINE_OFFICE, AUDITOR, PROCESS_OWNER, LEADERSHIP_GROUP, TASK_FORCE})


def roles_of(conn, username: str | None) -> frozenset[str]:
    if not username:
        return frozenset()
    return frozenset(r for (r,) in conn.execute(sa.select(staff_role.c.role).where(staff_role.c.username == username)))


def _is_person(conn, actor: str) -> bool:
    return conn.execute(sa.select(staff.c.username).where(staff.c.username == actor)).first() is not None


def combination_problems(codes) -> list[Problem]:
    """What is wrong with one person holding all of `codes` together."""
    codes = set(codes or ())
    held = codes & ADMINISTRATORS
    if len(held) > 1:
        return [Problem("系统管理员、安全管理员、安全审计员须由不同人员担任（三员分立）", field="roles",
                        code="separation_of_duties")]
    if held and codes & OFFICE_ROLES:
        return [Problem("管理员不能同时担任纪检监察室、审计员、流程管理员、领导小组或工作专班角色（三员分立）",
                        field="roles", code="separation_of_duties")]
    return []


def check_roles_change(conn, actor: str | None, username: str, before, after) -> None:
    """May `actor` change `username`'s roles from `before` to `after`? `Invalid` for a combination
    nobody may hold, `Forbidden` for a change this actor may not make."""
    before, after = set(before or ()), set(after or ())
    if before == after:
        return
    problems = combination_problems(after)
    if problems:
        raise Invalid("角色组合不符合三员分立要求", problems)
    if actor is None or not _is_person(conn, actor):
        return                          # the system: the demo, the command line, the directory's sync
    if actor == username:
        raise Forbidden("不能更改自己的角色")
    if (before ^ after) & PRIVILEGED_ROLES and SECURITY_ADMIN not in roles_of(conn, actor):
        raise Forbidden("授予或撤销纪检监察室、审计员、流程管理员和管理员角色须由安全管理员办理")


def check_reset(conn, actor: str | None, username: str) -> None:
    """May `actor` set `username`'s password? A privileged person's only by the security administrator."""
    if actor is None or actor == username or not _is_person(conn, actor):
        return
    if roles_of(conn, username) & PRIVILEGED_ROLES and SECURITY_ADMIN not in roles_of(conn, actor):
        raise Forbidden("重置纪检监察室、审计员、流程管理员和管理员的密码须由安全管理员办理")
