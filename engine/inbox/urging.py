"""催办 (urge): the discipline office, or the head of the task's department, urges whoever holds an
open task — a notification with the urger's message, an event in the instance's history, and the
count of urges shown on the task."""
from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa

from engine.db.schema import task_urge
from engine.db.transactions import read_transaction
from engine.deadlines import notifications
from engine.errors import Invalid, Problem, TaskNotReady
from engine.inbox.tasks import viewable
from engine.org.people import Principal
from engine.org.roles import DISCIPLINE_OFFICE
from engine.permissions import require
from engine.runtime import notes
from engine.runtime.views import HumanTask

MAX_MESSAGE = 500
DEFAULT_MESSAGE = "请尽快办理"


def can_urge(p: Principal, task: HumanTask) -> bool:
    """The office, or the head of the task's department; never the holder themself."""
    return (task.status == "open" and task.assignee != p.username
            and (p.has(DISCIPLINE_OFFICE) or (task.candidate_department in p.heads)))


def urge(engine, p: Principal, task_id: str, message: str | None = None) -> dict:
    """Urge the holder of an open task (or, while unclaimed, its candidates). Answers the task with
    its `urges` count."""
    task = viewable(engine, p, task_id)
    if task.status != "open":
        raise TaskNotReady("此任务已不在办理中，无需催办")
    require(can_urge(p, task), "只有纪检监察室或本科室负责人可以催办")
    message = (message or "").strip() or DEFAULT_MESSAGE
    if len(message) > MAX_MESSAGE:
        raise Invalid("催办内容过长", [Problem(f"不能超过 {MAX_MESSAGE} 字", field="message", code="too_long")])

    def write(conn, live, row) -> None:
        now = engine.clock.now()
        to = {"user": row.assignee} if row.assignee else {"role": row.candidate_role,
                                                           "department": row.candidate_department}
        notifications.add(conn, kind="urge", now=now, instance_id=live.id, task_id=task_id,
                          title=f"催办：{row.name}", body=f"{p.name}催办任务「{row.name}」：{message}",
                          confidential=row.confidential is not None, urgent=False, **to)
        conn.execute(task_urge.insert().values(instance_id=live.id, task_id=task_id, urged_by=p.username,
                                               message=message, urged_at=now))
    engine.note(task_id, user=p.username, event_type=notes.URGED, open_only=True, within=write,
                data={"message": message, "holder": task.assignee})
    return {**asdict(engine.task(task_id)), "urges": urge_count(engine, task_id)}


def urge_count(engine, task_id: str) -> int:
    with read_transaction(engine.db) as conn:
        return counts(conn, [task_id]).get(task_id, 0)


def counts(conn, task_ids: list[str]) -> dict[str, int]:
    """How many times each task was urged (tasks never urged are left out)."""
    if not task_ids:
        return {}
    rows = conn.execute(sa.select(task_urge.c.task_id, sa.func.count()).where(task_urge.c.task_id.in_(task_ids))
                        .group_by(task_urge.c.task_id))
    return {r[0]: r[1] for r in rows}
