"""Prepared write batches (engine.db.prepared): a batch whose rows point at rows written before it, in one
statement or statement by statement, and reads that run ahead of a write transaction on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from engine.db import prepared
from engine.db.prepared import Prepared, run_all
from engine.db.schema import notification, notification_read
from engine.db.transactions import write_transaction

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
NOTIFY = Prepared(notification.insert().values(
    kind=sa.bindparam("p_kind"), title=sa.bindparam("p_title"), body=sa.bindparam("p_body"),
    created_at=sa.bindparam("p_created_at", type_=notification.c.created_at.type)))
READ = Prepared(notification_read.insert().values(
    notification_id=sa.bindparam("p_notification_id", type_=sa.Integer), user=sa.bindparam("p_user"),
    read_at=sa.bindparam("p_read_at", type_=notification_read.c.read_at.type)))
COUNT = Prepared(sa.select(sa.func.count()).select_from(notification))


def _notice(title: str) -> dict:
    return {"p_kind": "test", "p_title": title, "p_body": "b", "p_created_at": NOW}


def _reads(db) -> set:
    with db.connect() as conn:
        return set(conn.execute(sa.select(notification.c.title, notification_read.c.user).join(
            notification_read, notification_read.c.notification_id == notification.c.id)).all())


@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("combined", [True, False])
def test_a_batch_writes_every_row_and_counts_each_statements(db, final, combined, monkeypatch):
    """Notifications written before, and in one batch the reads of each (one of them several rows) and
    a new notification: every row lands, each statement's count is its own (on PostgreSQL: one
    statement, alone when `final`; or, for a batch too large for one statement, statement by statement)."""
    if not combined:
        monkeypatch.setattr(prepared, "MAX_PARAMS", 0)
    with write_transaction(db) as conn:
        run_all(conn, [(NOTIFY, _notice("first")), (NOTIFY, _notice("second"))])
        ids = dict(conn.execute(sa.select(notification.c.title, notification.c.id)).all())
    with write_transaction(db) as conn:
        counts = run_all(conn, [
            (READ, [{"p_notification_id": ids["first"], "p_user": u, "p_read_at": NOW} for u in ("nurse", "admin")]),
            (READ, {"p_notification_id": ids["second"], "p_user": "nurse", "p_read_at": NOW}),
            (NOTIFY, _notice("third")),
        ], final=final)
    assert counts == [2, 1, 1]
    assert _reads(db) == {("first", "nurse"), ("first", "admin"), ("second", "nurse")}
    with db.connect() as conn:
        assert conn.execute(COUNT.statement).scalar() == 3


def test_a_leading_read_runs_ahead_only_while_the_transaction_has_sent_nothing(db):
    """Ahead of a write transaction that has sent nothing, a leading read leaves it unbegun on
    PostgreSQL (its one write can then run alone); after a write it reads inside the transaction,
    seeing that write."""
    with write_transaction(db) as conn:
        assert COUNT.fetch(conn, {}, leading=True)[0][0] == 0
        if db.dialect.name == "postgresql":
            import psycopg
            raw = conn.connection.dbapi_connection
            assert raw.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE and not raw.autocommit
        run_all(conn, [(NOTIFY, _notice("inside"))])
        assert COUNT.fetch(conn, {}, leading=True)[0][0] == 1
    with pytest.raises(RuntimeError):
        with write_transaction(db) as conn:
            COUNT.fetch(conn, {}, leading=True)
            run_all(conn, [(NOTIFY, _notice("rolled back"))])
            raise RuntimeError("abandon")
    with db.connect() as conn:
        assert conn.execute(sa.select(notification.c.title)).scalars().all() == ["inside"]
