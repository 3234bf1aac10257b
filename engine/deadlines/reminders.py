"""Reminders before a human task is due, and escalation once it is overdue.

A task with a due date is reminded `remindBefore` ahead (default: 2 working days) — to its
assignee, or else to its candidate role in its department. When it is overdue it escalates to
the department head (level 1), then, `escalateAfter` later (default: 2 working days), to the
discipline office (level 2) — at once to the office when the task belongs to no department, or the
process is confidential and the department's head holds none of its roles. Each step is an event in the instance's history, written under the
instance lock together with the inbox row it updates, so a restart or a second scheduler never
repeats one.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from engine import history
from engine.bpmn import spiff
from engine.deadlines.policy import TaskPolicy
from engine.deadlines import notifications
from engine.db.schema import ESCALATION_PENDING, REMIND_PENDING, department, human_task, staff_role

ESCALATION = {1: "department_head", 2: "discipline_office"}


def due_work(conn, now: datetime, limit: int) -> list:
    """Open tasks with a reminder or an escalation due, most urgent first. Each half of the union
    repeats the condition of its partial index (see engine.schema), so both are index range scans."""
    h = human_task.c
    due = sa.union(
        sa.select(h.id, h.instance_id, h.due_at).where(REMIND_PENDING, h.remind_at <= now),
        sa.select(h.id, h.instance_id, h.due_at).where(ESCALATION_PENDING, h.next_escalation_at <= now),
    ).subquery()
    q = sa.select(due.c.id, due.c.instance_id).order_by(due.c.due_at, due.c.id).limit(limit)
    return conn.execute(q).all()


def _head_may_see(conn, code: str, confidential: str | None) -> bool:
    """Whether the head of department `code` may see an instance of these confidential roles (any
    head may, for a process that is not confidential)."""
    if confidential is None:
        return True
    roles = set(filter(None, (r.strip() for r in confidential.split(","))))
    held = conn.execute(sa.select(staff_role.c.role).join(department, department.c.head == staff_role.c.username)
                        .where(department.c.code == code)).scalars()
    return bool(roles & set(held))


def apply(conn, live, task_id: str, outcome, policy: TaskPolicy) -> None:
    """Send what is due for one task of a locked live instance (re-checked under the lock)."""
    row = live.human.get(task_id)
    if row is None:
        return                                  # completed or cancelled meanwhile
    now = outcome.now
    spec = live.wf.get_task_from_id(UUID(task_id))
    props = spiff.task_properties(spec)
    due_text = row["due_at"].isoformat() if row["due_at"] else ""
    changes = {}
    if row["remind_at"] and row["remind_at"] <= now and not row["reminded_at"]:
        to = {"user": row["assignee"]} if row["assignee"] else {"role": row["candidate_role"],
                                                                 "department": row["candidate_department"]}
        notifications.add(conn, kind="reminder", now=now, instance_id=live.id, task_id=task_id,
                          title=f"任务即将到期：{row['name']}",
                          body=f"任务「{row['name']}」将于 {due_text} 到期，请及时办理。",
                          confidential=row.get("confidential") is not None, **to)
        outcome.events.append(history.NewEvent("task_reminded", task_id=task_id, element_id=row["element_id"],
                                               data={"due_at": due_text, "to": to}))
        changes["reminded_at"] = now
    if row["next_escalation_at"] and row["next_escalation_at"] <= now and row["escalation_level"] < 2:
        level = row["escalation_level"] + 1
        role = ESCALATION[level]
        department = row["candidate_department"] if level == 1 else None
        if level == 1 and (department is None or not _head_may_see(conn, department, row.get("confidential"))):
            # A task of no department has no head to tell (a role-wide notice would reach every head),
            # and a confidential process (e.g. a voluntary disclosure, 主动说明) is told only to a head
            # who holds one of its roles: otherwise the office hears of it at once.
            level, role, department = 2, ESCALATION[2], None
        notifications.add(conn, kind="escalation", now=now, role=role, department=department,
                          instance_id=live.id, task_id=task_id, title=f"任务已逾期：{row['name']}",
                          body=f"任务「{row['name']}」应于 {due_text} 前完成，现已逾期，请督促办理。",
                          confidential=row.get("confidential") is not None)
        outcome.events.append(history.NewEvent("task_escalated", task_id=task_id, element_id=row["element_id"],
                                               data={"level": level, "to_role": role, "department": department,
                                                     "due_at": due_text}))
        changes["escalation_level"] = level
        changes["next_escalation_at"] = (policy.deadlines.after(row["due_at"], props.get(
            "escalateAfter", policy.escalate_after), lambda e: policy.evaluate(spec, e)) if level < 2 else None)
    if changes:
        conn.execute(human_task.update().where(human_task.c.id == task_id).values(**changes))
        row.update(changes)
