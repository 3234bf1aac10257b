"""Claiming due timers from the index, so that any number of schedulers can fire them.

A scheduler claims a batch of due timers by writing a lease (owner, until) on their rows — with
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent schedulers take disjoint batches; SQLite has
one writer at a time anyway. Firing then happens per instance under the instance lock, and a
timer row disappears in the same transaction as the state change it caused; a timer whose task
is no longer waiting when its instance is locked has already fired and is not fired again. So a
timer fires exactly once even when a lease expires while its first scheduler is still working,
and a scheduler killed mid-batch loses nothing: its claims expire and another takes them.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.db.schema import timer


def claim_due(conn, now: datetime, owner: str, lease: timedelta, limit: int) -> list:
    """Lease up to `limit` timers due by `now` (oldest first) to `owner`; returns (task_id, instance_id, due_at)."""
    free = sa.or_(timer.c.lease_until.is_(None), timer.c.lease_until < now)
    # strictly after the due moment: SpiffWorkflow fires a timer once its due time has passed
    pick = (sa.select(timer.c.task_id).where(timer.c.due_at < now, free)
            .order_by(timer.c.due_at, timer.c.task_id).limit(limit))
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (timer.update().where(timer.c.task_id.in_(pick.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(timer.c.task_id, timer.c.instance_id, timer.c.due_at))
    rows = conn.execute(stmt).all()
    return sorted(rows, key=lambda r: (r.due_at, r.task_id))


def release(conn, owner: str, task_ids: list[str]) -> None:
    """Give back claims that were not fired (the row still exists only if its timer is still waiting)."""
    if task_ids:
        conn.execute(timer.update().where(timer.c.task_id.in_(task_ids), timer.c.lease_owner == owner)
                     .values(lease_owner=None, lease_until=None))


def waiting(conn, limit: int = 200) -> list[dict]:
    q = sa.select(timer).order_by(timer.c.due_at, timer.c.task_id).limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]
