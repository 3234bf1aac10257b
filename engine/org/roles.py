"""Roles people hold, and how a BPMN lane names one.

A lane maps to a role by an explicit `role` property on the lane, or else by its name matching a
role's code, Chinese name or English name.
"""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import role

# The built-in role codes; who may do what with them is `engine.permissions`' to say.
STAFF = "staff"
DEPARTMENT_HEAD = "department_head"
DISCIPLINE_OFFICE = "discipline_office"
TASK_FORCE = "task_force"
LEADERSHIP_GROUP = "leadership_group"
PROCESS_OWNER = "process_owner"
AUDITOR = "auditor"
ADMIN = "admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"

BUILTIN_ROLES = (
    (STAFF, "职工", "Staff"),
    (DEPARTMENT_HEAD, "科室负责人", "Department head"),
    (DISCIPLINE_OFFICE, "纪检监察室", "Discipline office"),
    (TASK_FORCE, "工作专班", "Task force"),
    (LEADERSHIP_GROUP, "领导小组", "Leadership group"),
    (PROCESS_OWNER, "流程管理员", "Process owner"),
    (AUDITOR, "审计员", "Auditor"),
    (ADMIN, "系统管理员", "Administrator"),
    (SECURITY_ADMIN, "安全管理员", "Security administrator"),
    (AUDIT_ADMIN, "安全审计员", "Audit administrator"),
)

# Who must sign in with a second factor (TOTP) and change their password every so often: the people
# whose accounts open the office's records or the system (level 3 of 等保 2.0).
PRIVILEGED_ROLES = frozenset({ADMIN, SECURITY_ADMIN, AUDIT_ADMIN, DISCIPLINE_OFFICE, AUDITOR, PROCESS_OWNER})


def ensure_builtin_roles(conn) -> None:
    existing = {r.code for r in conn.execute(sa.select(role.c.code))}
    rows = [{"code": c, "name_zh": zh, "name_en": en} for c, zh, en in BUILTIN_ROLES if c not in existing]
    if rows:
        conn.execute(role.insert(), rows)


def add_role(conn, code: str, name_zh: str, name_en: str | None = None) -> None:
    conn.execute(role.insert(), [{"code": code, "name_zh": name_zh, "name_en": name_en or code}])


def role_resolver(conn):
    """A function mapping a lane name (or role property) to a role code, or None."""
    names: dict[str, str] = {}
    for r in conn.execute(sa.select(role)):
        for alias in (r.code, r.name_zh, r.name_en):
            names[alias.strip().casefold()] = r.code
    return lambda name: names.get((name or "").strip().casefold())

