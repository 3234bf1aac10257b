"""Readiness: does the database answer, is its schema this version's, does a scheduler tick.

Read by the web's /readyz; each check's outcome is one word, and nothing about the data.
"""
from __future__ import annotations

import logging
from datetime import timedelta, timezone

import sqlalchemy as sa

from engine.db import migrate
from engine.db.schema import scheduler_heartbeat

log = logging.getLogger("qinglian.access")


def readiness(eng, heartbeat_max_age: timedelta) -> dict[str, str]:
    """Each check's outcome as a word: ok, unreachable, mismatch, none, stale."""
    checks = {"database": "ok", "schema": "ok", "scheduler": "ok"}
    try:
        with eng.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            newest = conn.execute(sa.select(sa.func.max(scheduler_heartbeat.c.beat_at))).scalar()
    except sa.exc.SQLAlchemyError:
        log.warning("readiness: the database does not answer")
        return {"database": "unreachable", "schema": "unknown", "scheduler": "unknown"}
    try:
        migrate.check_current(eng.db)
    except migrate.SchemaMismatch as exc:
        log.warning("readiness: %s", exc.message)
        checks["schema"] = "mismatch"
    if newest is None:
        checks["scheduler"] = "none"
    else:
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=timezone.utc)
        if eng.clock.now() - newest > heartbeat_max_age:
            checks["scheduler"] = "stale"
    return checks
