"""The notification bell: a person's reminders and escalations (written by `deadlines`), how many are
unread, and each one opened — marked read — on its way to its task."""
from __future__ import annotations

from engine.deadlines import notifications
from engine.errors import NotFound
from engine.org.people import Principal

LIMIT = 50


def _args(p: Principal) -> tuple:
    return p.username, sorted(p.roles), p.department


def unread(engine, p: Principal) -> int:
    """How many of `p`'s notifications are unread (the bell's count)."""
    return notifications.unread_count(engine.db, *_args(p))


def latest(engine, p: Principal) -> list[dict]:
    """`p`'s latest notifications, newest first, each with `read` and the task it is about."""
    return notifications.for_user(engine.db, *_args(p), limit=LIMIT)


def open_one(engine, p: Principal, notification_id: int) -> dict:
    """One of `p`'s notifications, marked read; NotFound if it is not addressed to them."""
    found = next((n for n in notifications.for_user(engine.db, *_args(p), limit=10_000)
                  if n["id"] == notification_id), None)
    if found is None:
        raise NotFound(f"通知 {notification_id} 不存在", field="notification_id")
    notifications.mark_read(engine.db, p.username, [notification_id], engine.clock.now())
    return found


def read_all(engine, p: Principal) -> int:
    """Mark every one of `p`'s notifications read; how many were unread."""
    ids = [n["id"] for n in notifications.for_user(engine.db, *_args(p), limit=10_000) if not n["read"]]
    if ids:
        notifications.mark_read(engine.db, p.username, ids, engine.clock.now())
    return len(ids)
