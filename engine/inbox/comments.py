"""A task's comment thread (kept per instance, so the thread follows the case from task to task)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine import history
from engine.errors import Invalid, Problem
from engine.db.schema import task_comment

MAX_LENGTH = 4000


def add(conn, *, instance_id: str, task_id: str | None, author: str, body: str, now: datetime) -> dict:
    body = (body or "").strip()
    if not body:
        raise Invalid("评论不能为空", [Problem("评论不能为空", field="body", code="required")])
    if len(body) > MAX_LENGTH:
        raise Invalid("评论过长", [Problem(f"评论最多 {MAX_LENGTH} 字", field="body", code="too_long")])
    new_id = conn.execute(task_comment.insert().values(instance_id=instance_id, task_id=task_id, author=author,
                                                       body=body, created_at=now)
                          .returning(task_comment.c.id)).scalar_one()
    row = {"id": new_id, "instance_id": instance_id, "task_id": task_id, "author": author, "body": body,
           "created_at": now}
    history.record_row(conn, now, "comment_added", actor=author, instance_id=instance_id, row_id=new_id,
                       digest=history.comment_digest(row))
    return row


def for_instance(conn, instance_id: str) -> list[dict]:
    rows = conn.execute(sa.select(task_comment).where(task_comment.c.instance_id == instance_id)
                        .order_by(task_comment.c.id))
    return [dict(r._mapping) for r in rows]
