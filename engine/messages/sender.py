"""Sending the outbox: the scheduler's job (`Sender.send_due`), and what admins see of it.

Each tick first writes the messages of the notifications raised since the last (`fan_out`). Rows are
claimed in batches under a lease, sent one by one, each marked in a transaction of its own (see
`outbox` for why that is exactly once). A channel with a per-person limit (WeCom: 30 a minute)
is a queue: a row over the limit waits, without counting as an attempt, until the oldest message of
the last minute is a minute old."""
from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

import httpx
import sqlalchemy as sa

from engine.db.schema import message_outbox, staff
from engine.db.transactions import read_transaction, write_transaction
from engine.messages import outbox
from engine.messages.channels import Message, RetryLater, Undeliverable
from engine.messages.dingtalk import DingTalk
from engine.messages.mail import Email
from engine.messages.preferences import ADDRESS
from engine.messages.sms import Sms
from engine.messages.wecom import WeCom

log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)


class Sender:
    def __init__(self, channels: dict, public_url: str, *, owner: str | None = None,
                 lease: timedelta = timedelta(minutes=2), batch: int = 50):
        self.channels, self.public_url = channels, public_url.rstrip("/")
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.lease, self.batch = lease, batch

    @classmethod
    def from_settings(cls, settings, clock=None) -> "Sender":
        channels = {}
        if settings.wecom:
            channels["wecom"] = WeCom.from_settings(settings.wecom)
        if settings.dingtalk:
            channels["dingtalk"] = DingTalk.from_settings(settings.dingtalk)
        if settings.sms:
            channels["sms"] = Sms.from_settings(settings.sms, clock)
        if settings.smtp_host:
            channels["email"] = Email(settings.smtp_host, settings.smtp_port, settings.smtp_from)
        return cls(channels, settings.public_url)

    def send_due(self, db, clock) -> int:
        """Write the messages of the notifications raised since the last time (`outbox.fan_out`), then
        send what is due now, batch after batch; returns how many were delivered."""
        fan_out(db, clock.now(), self.batch)
        delivered = 0
        while True:
            now = clock.now()
            with write_transaction(db) as conn:
                rows = outbox.claim(conn, self.owner, now, self.lease, self.batch)
            if not rows:
                return delivered
            for row in rows:
                delivered += self._send_one(db, clock, row)

    def _send_one(self, db, clock, row) -> int:
        channel = self.channels.get(row.channel)
        now = clock.now()
        if channel is None:
            with write_transaction(db) as conn:
                outbox.fail(conn, row.id, self.owner, f"渠道 {row.channel} 未配置", state="skipped")
            return 0
        if channel.per_minute:
            with read_transaction(db) as conn:
                recent = outbox.sent_recently(conn, row.username, row.channel, now - MINUTE)
            if len(recent) >= channel.per_minute:
                with write_transaction(db) as conn:
                    outbox.retry_later(conn, row, self.owner, now, "等待企业微信的每人每分钟限额",
                                       after=recent[-channel.per_minute] + MINUTE - now, counts=False)
                return 0
        message = Message(row.idempotency_key, getattr(row, ADDRESS[row.channel]), row.title, row.body,
                          self.public_url + (row.link or "/tasks"))
        try:
            channel.send(message)
        except Undeliverable as exc:
            with write_transaction(db) as conn:
                outbox.fail(conn, row.id, self.owner, str(exc), attempts=row.attempts + 1)
            return 0
        except (RetryLater, httpx.HTTPError) as exc:
            log.warning("message %s via %s not sent: %s", row.id, row.channel, exc)
            with write_transaction(db) as conn:
                outbox.retry_later(conn, row, self.owner, clock.now(), str(exc) or type(exc).__name__,
                                   after=getattr(exc, "after", None), counts=getattr(exc, "counts", True))
            return 0
        with write_transaction(db) as conn:
            outbox.mark_sent(conn, row.id, self.owner, clock.now())
        return 1


def fan_out(db, now, batch: int = 200) -> int:
    """`outbox.fan_out` until none is left, a transaction per batch; returns how many were fanned out."""
    done = 0
    while True:
        with write_transaction(db) as conn:
            n = outbox.fan_out(conn, now, batch)
        done += n
        if n < batch:
            return done


# --- the administrators' page ------------------------------------------------------------------------

def problems_page(eng, limit: int = 200) -> dict:
    """Messages that failed for good or are being retried, newest first, and counts by state."""
    m = message_outbox.c
    with read_transaction(eng.db) as conn:
        rows = conn.execute(sa.select(m.id, m.username, staff.c.name, m.channel, m.title, m.state, m.attempts,
                                      m.next_attempt_at, m.last_error, m.created_at)
                            .join(staff, staff.c.username == m.username)
                            .where(sa.or_(m.state == "failed", sa.and_(m.state == "pending", m.attempts > 0)))
                            .order_by(m.id.desc()).limit(limit)).all()
        counts = dict(conn.execute(sa.select(m.state, sa.func.count()).group_by(m.state)).all())
    return {"rows": [dict(r._mapping) for r in rows], "counts": counts}


def retry_failed(eng, row_id: int, *, by: str) -> None:
    """Send a failed message again (an administrator fixed the address or the channel's settings)."""
    from engine.errors import NotFound
    from engine.org import admin_log
    now = eng.clock.now()
    with write_transaction(eng.db) as conn:
        done = conn.execute(message_outbox.update().where(message_outbox.c.id == row_id,
                                                          message_outbox.c.state == "failed")
                            .values(state="pending", attempts=0, next_attempt_at=now, claimed_by=None,
                                    claim_until=None)).rowcount
        if not done:
            raise NotFound("没有这条发送失败的消息")
        admin_log.record(conn, now, "message_retried", actor=by, data={"message": row_id})
