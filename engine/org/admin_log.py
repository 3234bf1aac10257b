"""The administration log: every account, role and password change as an event of one hash chain
(`ADMIN_CHAIN`), written in the transaction that makes the change, verified by `audit verify` like
every other chain and read by auditors (`administration_page`).

Events: `account_created`, `account_changed` (which fields, before → after), `roles_changed`
(before → after), `password_changed` (by its owner), `password_reset` (by an administrator: the owner
must choose a new one at next sign-in), `relation_declared` (two staff related: 回避). No password or
hash is ever in the log.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from engine import history
from engine.db.schema import event
from engine.db.transactions import read_transaction

ADMIN_CHAIN = "administration"


def record(conn, now: datetime, type_: str, *, actor: str | None, data: dict) -> None:
    """Append one event to the administration chain (its head row locked for the transaction)."""
    history.append_to_chain(conn, ADMIN_CHAIN, now, [history.NewEvent(type_, actor=actor, data=data)])


def _entries(conn, limit: int = 500) -> list[dict]:
    """The newest `limit` events of the administration log, newest first (the caller checks who reads)."""
    rows = conn.execute(sa.select(event.c.seq, event.c.type, event.c.at, event.c.actor, event.c.data_json, event.c.hash)
                        .where(event.c.chain == ADMIN_CHAIN).order_by(event.c.seq.desc()).limit(limit)).all()
    return [dict(r._mapping, data=json.loads(r.data_json)) for r in rows]


def administration_page(eng) -> dict:
    """The log's newest entries and the names of the people they concern, in one read."""
    from engine.org.people import read_directory
    with read_transaction(eng.db) as conn:
        return {"entries": _entries(conn), "names": read_directory(conn).names}
