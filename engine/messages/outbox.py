"""The outbox: a notification's messages, one per person and channel, claimed under a lease by a
sender, marked sent once delivered.

A notification is written in the transaction of the operation that raised it (a rollback sends
nothing; a completion never waits for WeCom). Its messages are written from it by the scheduler's
tick (`fan_out`, each notification once: in the transaction that marks it fanned out), which reads
then who it reaches, their channels and quiet hours — a read the operation itself does not make.

Exactly once: a row is sent only by the sender whose claim (`claimed_by`, `claim_until`) it holds,
and marked sent in a transaction of its own right after the vendor answers. A sender killed between
the answer and the mark leaves the row claimed; after the lease another sender sends it again under
the same `idempotency_key`, which the vendor deduplicates on (SMS `OutId`, WeCom's duplicate check):
the person receives it once.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.db.prepared import Prepared, run_all
from engine.db.schema import TO_FAN_OUT, message_outbox, notification, staff
from engine.messages import preferences

CONFIDENTIAL_TEXT = "您有一项待办"
MAX_ATTEMPTS = 8
BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


def reach(conn, *, user: str | None, role: str | None, department: str | None) -> dict:
    """The active people a notification addresses — the user, or the holders of the role (in the
    department) — each with their channels and quiet hours, in one query."""
    if user:
        return preferences.channels_and_quiet(conn, [user])
    if not role:
        return {}
    return preferences.channels_and_quiet(conn, role=role, department=department)


def _param(name: str, type_=sa.String):
    return sa.bindparam("p_" + name, type_=type_)


# A message row, its idempotency key made from its notification's (generated) id, its person and channel.
INSERT = Prepared(message_outbox.insert().values(
    notification_id=_param("notification_id", sa.Integer), username=_param("username"),
    channel=_param("channel"),
    idempotency_key=sa.func.substr(sa.literal("qinglian-") + sa.cast(_param("notification_id", sa.Integer), sa.Text)
                                   + "-" + _param("username") + "-" + _param("channel"), 1, 64),
    title=_param("title", sa.Text), body=_param("body", sa.Text), link=_param("link", sa.Text),
    urgent=_param("urgent", sa.Boolean), next_attempt_at=_param("next_attempt_at", message_outbox.c.next_attempt_at.type),
    created_at=_param("created_at", message_outbox.c.created_at.type)))


def messages(notification_id, people: dict, *, title: str, body: str, task_id: str | None, confidential: bool,
             urgent: bool, now: datetime, link: str | None = None) -> list[dict]:
    """The parameters of INSERT: one row per person and chosen channel (`people`: what `reach`
    found) of the notification `notification_id`. A confidential process's message says only
    CONFIDENTIAL_TEXT; a message outside urgency waits for the end of its person's quiet hours."""
    if confidential:
        title = body = CONFIDENTIAL_TEXT
    link = link or (f"/tasks/{task_id}" if task_id else "/tasks")
    rows = []
    for username, (channels, quiet) in people.items():
        due = now if urgent else preferences.after_quiet(now, quiet)
        rows += [{"p_notification_id": notification_id, "p_username": username, "p_channel": channel,
                  "p_title": title, "p_body": body, "p_link": link, "p_urgent": urgent, "p_next_attempt_at": due,
                  "p_created_at": now} for channel in channels]
    return rows


def fan_out(conn, now: datetime, limit: int = 200) -> int:
    """Write the messages of up to `limit` notifications that have none yet, and mark them fanned out,
    in the caller's transaction; returns how many were fanned out. Two schedulers never fan out the
    same one: on PostgreSQL each skips the rows the other has locked; SQLite has one writer."""
    n = notification.c
    pending = conn.execute(sa.select(n.id, n.recipient_user, n.recipient_role, n.recipient_department, n.task_id,
                                     n.title, n.body, n.link, n.confidential, n.urgent)
                           .where(TO_FAN_OUT).order_by(n.id).limit(limit)
                           .with_for_update(skip_locked=True)).all()
    reached: dict[tuple, dict] = {}     # a batch's notifications share recipients: each read once
    rows = []
    for row in pending:
        to = (row.recipient_user, row.recipient_role, row.recipient_department)
        if to not in reached:
            reached[to] = reach(conn, user=to[0], role=to[1], department=to[2])
        rows += messages(row.id, reached[to], title=row.title, body=row.body, task_id=row.task_id,
                         confidential=row.confidential, urgent=row.urgent, now=now, link=row.link)
    if rows:
        run_all(conn, [(INSERT, rows)])
    if pending:
        conn.execute(notification.update().where(n.id.in_([r.id for r in pending]), TO_FAN_OUT)
                     .values(fanned_out_at=now))
    return len(pending)


def claim(conn, owner: str, now: datetime, lease: timedelta, limit: int) -> list:
    """Take up to `limit` due rows for `owner` until `now + lease` (a row another sender holds is skipped)."""
    m = message_outbox.c
    due = conn.execute(sa.select(m.id).where(m.state == "pending", m.next_attempt_at <= now,
                                             sa.or_(m.claim_until.is_(None), m.claim_until <= now))
                       .order_by(m.urgent.desc(), m.next_attempt_at, m.id).limit(limit)).scalars().all()
    mine = []
    for row_id in due:
        taken = conn.execute(message_outbox.update().where(
            m.id == row_id, m.state == "pending", sa.or_(m.claim_until.is_(None), m.claim_until <= now))
            .values(claimed_by=owner, claim_until=now + lease)).rowcount
        if taken:
            mine.append(row_id)
    if not mine:
        return []
    return conn.execute(sa.select(message_outbox, staff.c.wecom_userid, staff.c.dingtalk_userid, staff.c.phone,
                                  staff.c.email).join(staff, staff.c.username == m.username)
                        .where(m.id.in_(mine)).order_by(m.urgent.desc(), m.next_attempt_at, m.id)).all()


def mark_sent(conn, row_id: int, owner: str, now: datetime) -> None:
    conn.execute(message_outbox.update().where(message_outbox.c.id == row_id, message_outbox.c.claimed_by == owner)
                 .values(state="sent", sent_at=now, claim_until=None, last_error=None,
                         attempts=message_outbox.c.attempts + 1))


def retry_later(conn, row, owner: str, now: datetime, error: str, *, after: timedelta | None = None,
                counts: bool = True) -> None:
    """Back off (doubling from BACKOFF) or wait `after`; a row failing MAX_ATTEMPTS times fails for good.
    A wait that is not the row's fault (`counts=False`: a rate limit) is no attempt."""
    attempts = row.attempts + (1 if counts else 0)
    if attempts >= MAX_ATTEMPTS:
        return fail(conn, row.id, owner, error, attempts=attempts)
    wait = after or min(BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    conn.execute(message_outbox.update().where(message_outbox.c.id == row.id, message_outbox.c.claimed_by == owner)
                 .values(attempts=attempts, next_attempt_at=now + wait, claim_until=None, claimed_by=None,
                         last_error=error[:500]))


def fail(conn, row_id: int, owner: str, error: str, *, attempts: int | None = None, state: str = "failed") -> None:
    """Give a row up: `failed` (admins see it) or `skipped` (its channel is not configured here)."""
    values = {"state": state, "claim_until": None, "last_error": error[:500]}
    if attempts is not None:
        values["attempts"] = attempts
    conn.execute(message_outbox.update().where(message_outbox.c.id == row_id, message_outbox.c.claimed_by == owner)
                 .values(**values))


def sent_recently(conn, username: str, channel: str, since: datetime) -> list[datetime]:
    """When the person was sent messages on `channel` since `since` (a vendor's per-person rate limit)."""
    m = message_outbox.c
    return list(conn.execute(sa.select(m.sent_at).where(m.username == username, m.channel == channel,
                                                         m.state == "sent", m.sent_at > since)
                             .order_by(m.sent_at)).scalars())
