"""Log retention (等保 2.0 level 3: logs kept at least six months): the scheduled job that deletes the
*operational* rows older than `QINGLIAN_LOG_RETENTION_DAYS` (default and minimum 180) — ended page
sessions, expired API tokens, stale sign-in failure counters, the public page's rate-limit windows and
spent form tokens, messages delivered or given up on — and nothing else.

Chained events (`event`, `chain_head`) are never deleted: they are the evidence, and deleting one would
break its chain. Neither are notifications, the reporter vault, comments, attachments, instances or
any row under the `records` chain. Each run is itself an event of the administration chain
(`logs_pruned`: the cutoff and how many rows of each kind went), so the deletions are on record.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.config import MIN_LOG_RETENTION_DAYS
from engine.db.schema import api_token, login_attempt, message_outbox, public_throttle, web_session
from engine.db.transactions import write_transaction
from engine.errors import Invalid, Problem
from engine.org import admin_log


def _deletions(cutoff: datetime) -> dict[str, sa.Delete]:
    """What goes, by kind: each row whose last moment of use lies before `cutoff`."""
    return {
        "web_session": web_session.delete().where(web_session.c.expires_at < cutoff),
        "api_token": api_token.delete().where(api_token.c.expires_at < cutoff),
        "login_attempt": login_attempt.delete().where(
            login_attempt.c.updated_at < cutoff,
            sa.or_(login_attempt.c.locked_until.is_(None), login_attempt.c.locked_until < cutoff)),
        "public_throttle": public_throttle.delete().where(public_throttle.c.window_start < cutoff),
        "message_outbox": message_outbox.delete().where(
            message_outbox.c.state.in_(("sent", "failed")), message_outbox.c.created_at < cutoff),
    }


def prune(eng, days: int, *, by: str = "scheduler") -> dict:
    """Delete the operational rows older than `days` (refused below 180), record the run in the
    administration chain, in one transaction. Returns {cutoff, days, deleted: {kind: rows}}."""
    if days < MIN_LOG_RETENTION_DAYS:
        raise Invalid(f"日志至少保存 {MIN_LOG_RETENTION_DAYS} 天", [Problem(
            f"保存天数不能少于 {MIN_LOG_RETENTION_DAYS} 天（等保三级）", field="days")])
    now = eng.clock.now()
    cutoff = now - timedelta(days=days)
    with write_transaction(eng.db) as conn:
        deleted = {kind: conn.execute(stmt).rowcount for kind, stmt in _deletions(cutoff).items()}
        admin_log.record(conn, now, "logs_pruned", actor=by, data={
            "days": days, "cutoff": cutoff.isoformat(), "deleted": deleted})
    return {"cutoff": cutoff, "days": days, "deleted": deleted}
