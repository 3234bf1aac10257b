"""Forms saved but not yet submitted ("save draft"), per task and person."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from engine.db.prepared import Prepared
from engine.db.schema import task_draft

_DISCARD = Prepared(task_draft.delete().where(task_draft.c.task_id == sa.bindparam("k_task_id")))


def save(conn, task_id: str, username: str, values: dict, now: datetime) -> None:
    conn.execute(task_draft.delete().where(task_draft.c.task_id == task_id, task_draft.c.username == username))
    conn.execute(task_draft.insert().values(task_id=task_id, username=username,
                                            data_json=json.dumps(values, ensure_ascii=False), saved_at=now))


def load(conn, task_id: str, username: str) -> tuple[dict, datetime] | None:
    row = conn.execute(sa.select(task_draft.c.data_json, task_draft.c.saved_at)
                       .where(task_draft.c.task_id == task_id, task_draft.c.username == username)).one_or_none()
    return (json.loads(row.data_json), row.saved_at) if row else None


def discarding(task_id: str) -> tuple:
    """The discard of a task's drafts as a statement for the completion's own write (`also=`)."""
    return (_DISCARD, {"k_task_id": task_id})
