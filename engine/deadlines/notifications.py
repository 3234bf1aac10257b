"""In-app notifications, and e-mail through SMTP when configured.

A notification goes to a user, or to a role (optionally within a department: "the head of 内科").
It is written in the same transaction as the event that caused it; e-mail is sent afterwards from
the table (an outbox), so a crash never loses one and a restart never sends one twice.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa

from engine.db.prepared import Prepared, run_all
from engine.db.schema import NEW_TASK_KIND, ON_THE_BELL, notification, notification_read

log = logging.getLogger(__name__)

# A new task's message goes to the person's channels only: the inbox lists the task already, so the
# bell leaves it out (`ON_THE_BELL`, which its indexes repeat).
NEW_TASK = NEW_TASK_KIND
# one statement, compiled once: a row for every new task (its messages are written by the scheduler)
_INSERT = Prepared(notification.insert().values({
    c.name: sa.bindparam("p_" + c.name, type_=c.type) for c in notification.columns
    if c.name not in ("id", "emailed_at", "fanned_out_at")}))


def add(conn, **notice) -> None:
    """Keep a notification in the caller's transaction (see `statements` for the arguments)."""
    run_all(conn, statements(**notice))


def statements(*, kind: str, title: str, body: str, now: datetime, user: str | None = None,
               role: str | None = None, department: str | None = None, instance_id: str | None = None,
               task_id: str | None = None, confidential: bool = False, urgent: bool | None = None,
               link: str | None = None) -> list:
    """A notification, as a prepared (statement, parameters) pair for a write batch
    (`engine.db.prepared.run_all`). Its messages to each person's channels are written by the
    scheduler's next tick (`engine.messages.outbox.fan_out`), which reads who it reaches then: the
    operation that raises it reads nothing for it. A confidential process's messages say only
    "您有一项待办"; an escalation is urgent (it ignores quiet hours) unless told otherwise. The messages
    link to the task page (or to `link`)."""
    row = {"p_kind": kind, "p_recipient_user": user, "p_recipient_role": role, "p_recipient_department": department,
           "p_instance_id": instance_id, "p_task_id": task_id, "p_title": title, "p_body": body,
           "p_created_at": now, "p_link": link, "p_confidential": confidential,
           "p_urgent": kind == "escalation" if urgent is None else urgent}
    return [(_INSERT, row)]


def _mine(user: str, roles: list[str], department: str | None):
    n = notification.c
    by_role = sa.and_(n.recipient_role.in_(roles or ["-"]),
                      sa.or_(n.recipient_department.is_(None), n.recipient_department == department))
    # the bell's condition in each branch: so each can be looked up in its own (partial) index
    return sa.or_(sa.and_(n.recipient_user == user, ON_THE_BELL), sa.and_(by_role, ON_THE_BELL))


def for_user(db, user: str, roles: list[str], department: str | None = None, limit: int = 50) -> list[dict]:
    """A person's notifications, newest first, each with `read`."""
    read = sa.select(notification_read.c.notification_id).where(notification_read.c.user == user)
    q = (sa.select(notification, notification.c.id.in_(read).label("read"))
         .where(_mine(user, roles, department)).order_by(notification.c.id.desc()).limit(limit))
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def unread_statement(user: str, roles: list[str], department: str | None = None) -> sa.Select:
    """The bell's count (every page shows it)."""
    read = sa.select(notification_read.c.notification_id).where(notification_read.c.user == user)
    return sa.select(sa.func.count()).select_from(notification).where(
        _mine(user, roles, department), notification.c.id.not_in(read))


def unread_count(db, user: str, roles: list[str], department: str | None = None) -> int:
    with db.connect() as conn:
        return conn.execute(unread_statement(user, roles, department)).scalar()


def mark_read(db, user: str, ids: list[int], now: datetime) -> None:
    with db.begin() as conn:
        done = {r[0] for r in conn.execute(sa.select(notification_read.c.notification_id).where(
            notification_read.c.user == user, notification_read.c.notification_id.in_(ids)))}
        rows = [{"notification_id": i, "user": user, "read_at": now} for i in ids if i not in done]
        if rows:
            conn.execute(notification_read.insert(), rows)


@dataclass(frozen=True)
class Mailer:
    """SMTP settings. `addresses` maps a user or role code to mailbox(es), e.g. the office's shared one."""

    host: str
    port: int
    sender: str
    addresses: dict

    @classmethod
    def from_settings(cls, settings) -> "Mailer | None":
        """The mailer of `settings` (`QINGLIAN_SMTP_*`, `QINGLIAN_NOTIFY_EMAILS`), or None without an SMTP host."""
        if not settings.smtp_host:
            return None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from, dict(settings.notify_emails))

    def recipients(self, row) -> list[str]:
        key = row.recipient_user or row.recipient_role
        found = self.addresses.get(f"{row.recipient_role}@{row.recipient_department}") or self.addresses.get(key)
        return [found] if isinstance(found, str) else list(found or [])

    def send_pending(self, db, now: datetime, limit: int = 100) -> int:
        """Send notifications not yet e-mailed; each is marked sent in the database once delivered."""
        sent = 0
        with db.connect() as conn:
            rows = conn.execute(sa.select(notification).where(notification.c.emailed_at.is_(None))
                                .order_by(notification.c.id).limit(limit)).all()
        for row in rows:
            to = self.recipients(row)
            if to:
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = self.sender, ", ".join(to), row.title
                msg.set_content(row.body)
                try:
                    with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                        smtp.send_message(msg)
                except OSError as exc:
                    log.warning("e-mail for notification %s not sent: %s", row.id, exc)
                    return sent
                sent += 1
            with db.begin() as conn:
                conn.execute(notification.update().where(notification.c.id == row.id).values(emailed_at=now))
        return sent
