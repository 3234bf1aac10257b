"""Who may do what: the role groups and the named predicates every door (pages, API, CLI) asks.

A role code is spelt once, in `engine.org.roles`; a group of roles once, here. A web blueprint
guards a route with a group (`roles_required(*CLUE_READERS)`) or a predicate, never with a literal.

Human tasks: a task reaches a person when it is assigned to them, or when it is unassigned and they
hold the lane's role (and, where the lane names a department, belong to it or head it). A
department head sees and may reassign every open task of their department. A confidential process
(e.g. a voluntary disclosure) is seen only by its holder or starter and the roles it names.
"""
from __future__ import annotations

import json

import sqlalchemy as sa

from engine.db.schema import human_task, process_instance, process_version, recusal
from engine.errors import Forbidden, TaskAlreadyCompleted, TaskClaimedByOther, TaskNotReady
from engine.org.people import Principal
from engine.org.roles import (ADMIN, AUDIT_ADMIN, AUDITOR, DEPARTMENT_HEAD, DISCIPLINE_OFFICE, LEADERSHIP_GROUP,
                              PROCESS_OWNER, SECURITY_ADMIN, STAFF, TASK_FORCE)

# --- role groups -----------------------------------------------------------------------------------

ADMINS = (ADMIN,)
# Staff records and their roles (三员分立, `engine.org.duties`: the security administrator alone grants
# the privileged roles and resets a privileged person's password).
ACCOUNT_ADMINS = (ADMIN, SECURITY_ADMIN)
# Read the administration log: the auditors of the office, and the audit administrator (安全审计员).
ADMIN_LOG_READERS = (AUDITOR, DISCIPLINE_OFFICE, ADMIN, SECURITY_ADMIN, AUDIT_ADMIN)
# The discipline office (纪检监察室): registers and handles clues, launches campaigns, grants access.
CLUE_OFFICE = (DISCIPLINE_OFFICE,)
# Read the clue ledger and its reports; auditors read too, the reporter's identity stays masked.
CLUE_READERS = (DISCIPLINE_OFFICE, LEADERSHIP_GROUP, AUDITOR)
# Work with clues day to day: the menu shows them the ledger.
CLUE_MANAGERS = (DISCIPLINE_OFFICE, LEADERSHIP_GROUP)
# See every campaign (专项整治) and its reports; a department head sees their own departments'.
CAMPAIGN_VIEWERS = (DISCIPLINE_OFFICE, TASK_FORCE, LEADERSHIP_GROUP, AUDITOR, ADMIN)
# Read the audit trail, and see every (non-confidential) task and instance.
AUDITORS = (AUDITOR, DISCIPLINE_OFFICE, ADMIN)
# Holding one of these makes a person read-only (no grants, no comments, no claims, nothing written)…
AUDIT_READ_ONLY = frozenset({AUDITOR, AUDIT_ADMIN})
# …unless they also hold one of these explicit write roles. `staff` (everyone's role) does not lift it,
# nor do task_force or leadership_group: an auditor on a task force is still an auditor.
WRITE_ROLES = frozenset({DISCIPLINE_OFFICE, DEPARTMENT_HEAD, PROCESS_OWNER, ADMIN})
# Read every instance that is not confidential (the audit pages, the inbox's instance view).
INSTANCE_READERS = (AUDITOR, ADMIN, DISCIPLINE_OFFICE)
# Launch campaigns, see their disclosures, grant a colleague access to a reporter's identity.
OFFICE = (DISCIPLINE_OFFICE,)
# Deploy and edit processes and forms in the modeler.
PROCESS_EDITORS = (PROCESS_OWNER, ADMIN)
# Start any process's instance through the API, whatever its `startableBy`.
INSTANCE_STARTERS = (DISCIPLINE_OFFICE, PROCESS_OWNER, ADMIN)


# --- named predicates ------------------------------------------------------------------------------

def may_read_clues(p: Principal) -> bool:
    return p.has(*CLUE_READERS)


def may_handle_clues(p: Principal) -> bool:
    """Register a clue, record its handling mode, select it for review, grant access to its reporter."""
    return p.has(*CLUE_OFFICE)


def may_reveal_reporter(p: Principal, *, granted: bool = False) -> bool:
    """The discipline office, or someone it granted access to this clue's reporter (`granted`)."""
    return p.has(*CLUE_OFFICE) or granted


def may_see_clue_menu(p: Principal) -> bool:
    return p.has(*CLUE_MANAGERS)


def may_view_campaigns(p: Principal) -> bool:
    """Every campaign and department (department heads see their own: `may_view_department`)."""
    return p.has(*CAMPAIGN_VIEWERS)


def may_view_department(p: Principal, department: str | None) -> bool:
    return may_view_campaigns(p) or (department is not None and department in p.heads)


def may_see_campaign_menu(p: Principal) -> bool:
    return may_view_campaigns(p) or bool(p.heads)


def may_audit(p: Principal) -> bool:
    return p.has(*AUDITORS)


def may_edit_processes(p: Principal) -> bool:
    return p.has(*PROCESS_EDITORS)


def may_administer(p: Principal) -> bool:
    return p.has(*ADMINS)


def may_manage_accounts(p: Principal) -> bool:
    return p.has(*ACCOUNT_ADMINS)


def may_read_admin_log(p: Principal) -> bool:
    return p.has(*ADMIN_LOG_READERS)


def is_read_only(p: Principal | None) -> bool:
    """An auditor changes nothing, whatever else they hold, unless also granted a `WRITE_ROLES` role.

    Checked once for every request that is not a GET (pages and API, `web.audit`)."""
    return p is not None and bool(p.roles & AUDIT_READ_ONLY) and not (p.roles & WRITE_ROLES)


def sees_every_task(p: Principal) -> bool:
    """Auditors, the discipline office and admins: every task and instance of an open process."""
    return p.has(*AUDITORS)


def require(allowed: bool, message: str) -> None:
    """`Forbidden` with `message` unless `allowed`."""
    if not allowed:
        raise Forbidden(message)


# --- human tasks -----------------------------------------------------------------------------------

def is_candidate(p: Principal, task) -> bool:
    if not task.candidate_role or task.candidate_role not in p.roles:
        return False
    dept = task.candidate_department
    return dept is None or dept == p.department or dept in p.heads


def can_view(p: Principal, task) -> bool:
    if task.confidential:     # a confidential process: its holder and the roles it names only
        return (task.assignee == p.username or task.completed_by == p.username
                or p.has(*task.confidential.split(",")))
    return (task.assignee == p.username or task.completed_by == p.username
            or is_candidate(p, task) or task.candidate_department in p.heads
            or sees_every_task(p))


def may_receive(p: Principal, task) -> bool:
    """May be handed the task (delegated, transferred, reassigned): a person it may go to by its lane —
    the lane's role within the department its rule names — and, for a confidential process, one of
    the roles that may see it."""
    if not is_candidate(p, task):
        return False
    return not task.confidential or p.has(*task.confidential.split(","))


def can_work(p: Principal, task) -> bool:
    """May claim or complete it now."""
    if task.status != "open":
        return False
    return task.assignee == p.username or (task.assignee is None and is_candidate(p, task))


def can_reassign(p: Principal, task) -> bool:
    return task.status == "open" and (task.candidate_department in p.heads or may_administer(p))


def can_delegate(p: Principal, task) -> bool:
    """Only the holder hands an open task on (a department head reassigns instead)."""
    return task.status == "open" and task.assignee == p.username


def require_work(p: Principal, task) -> None:
    """`can_work`, saying why not: a task no longer open, or held by a colleague, is a conflict
    (the state changed under the caller); a task outside the person's duties is forbidden."""
    if task.status == "completed":
        raise TaskAlreadyCompleted("此任务已经完成", completed_by=task.completed_by)
    if task.status != "open":
        raise TaskNotReady("此任务已不在办理中")
    if task.assignee not in (None, p.username) and is_candidate(p, task):
        raise TaskClaimedByOther("此任务已由他人认领", assignee=task.assignee)
    require(can_work(p, task), "此任务不在你的职责范围内")


# --- process instances -----------------------------------------------------------------------------

def is_recused(conn, p: Principal, instance_id: str) -> bool:
    """回避: `p` (or one of their roles) is kept out of the instance (engine/runtime/recusal.py) — then
    no page, list, count, search or export shows them anything of it, whatever else they hold."""
    return conn.execute(sa.select(recusal.c.id).where(
        recusal.c.instance_id == instance_id,
        sa.or_(recusal.c.username == p.username, recusal.c.role.in_(sorted(p.roles) or [""]))).limit(1)).first() is not None


def can_view_instance(conn, p: Principal, instance_id: str) -> bool:
    """Auditors, the discipline office and admins see every instance; others the ones they started
    or hold a task of that they may view. A confidential process (e.g. a voluntary disclosure) is
    seen only by its starter and the roles it names. No one recused from it sees it."""
    if is_recused(conn, p, instance_id):
        return False
    row = conn.execute(sa.select(process_instance.c.started_by, process_version.c.meta_json)
                       .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                       .where(process_instance.c.id == instance_id)).one_or_none()
    if row is None:
        return False
    if row.started_by == p.username:
        return True
    confidential = json.loads(row.meta_json).get("process", {}).get("confidential")
    if confidential is not None:     # a confidential process: only its starter and the roles it names
        return p.has(*confidential)
    if sees_every_task(p):
        return True
    rows = conn.execute(sa.select(human_task).where(human_task.c.instance_id == instance_id)).all()
    return any(can_view(p, r) for r in rows)


def may_list_instance(p: Principal, started_by: str | None, meta_json: str | None) -> bool:
    """May see who started an instance and its business key in a list: any instance of an open
    process (the list's own guard decides who reads it), a confidential one only its starter and the
    roles its version names — not whoever edits or administers the process."""
    confidential = json.loads(meta_json or "{}").get("process", {}).get("confidential")
    return confidential is None or started_by == p.username or p.has(*confidential)


def can_start(p: Principal, info) -> bool:
    """May start an instance of the process from the start page (its `startableBy` roles)."""
    return bool(info.startable_by) and (STAFF in info.startable_by or p.has(*info.startable_by))
