"""Prepared write batches (engine.db.prepared): rows that point at a key another row of the same batch
generates, and reads that run ahead of a write transaction on PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from engine.db import prepared
from engine.db.prepared import Key, Prepared, run_all
from engine.db.schema import notification, notification_read
from engine.db.transactions import write_transaction

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
NOTIFY = Prepared(notification.insert().values(
    kind=sa.bindparam("p_kind"), title=sa.bindparam("p_title"), body=sa.bindparam("p_body"),
    created_at=sa.bindparam("p_created_at", type_=notification.c.created_at.type)).returning(notification.c.id),
    generates=True)
READ = Prepared(notification_read.insert().values(
    notification_id=sa.bindparam("p_notification_id", type_=sa.Integer), user=sa.bindparam("p_user"),
    read_at=sa.bindparam("p_read_at", type_=notification_read.c.read_at.type)), refers=True)
COUNT = Prepared(sa.select(sa.func.count()).select_from(notification))


def _notice(title: str) -> dict:
    return {"p_kind": "test", "p_title": title, "p_body": "b", "p_created_at": NOW}


def _reads(db) -> set:
    with db.connect() as conn:
        return set(conn.execute(sa.select(notification.c.title, notification_read.c.user).join(
            notification_read, notification_read.c.notification_id == notification.c.id)).all())


@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("combined", [True, False])
def test_rows_pointing_at_a_key_generated_in_the_same_batch_get_that_key(db, final, combined, monkeypatch):
    """Two notifications and the reads of each (one of them several rows), in one batch: each read
    row points at its own notification (on PostgreSQL: one statement, alone when `final`; or, for a
    batch too large for one statement, statement by statement)."""
    if not combined:
        monkeypatch.setattr(prepared, "MAX_PARAMS", 0)
    first, second = _notice("first"), _notice("second")
    with write_transaction(db) as conn:
        counts = run_all(conn, [
            (NOTIFY, first), (NOTIFY, second),
            (READ, [{"p_notification_id": Key(first), "p_user": u, "p_read_at": NOW} for u in ("nurse", "admin")]),
            (READ, {"p_notification_id": Key(second), "p_user": "nurse", "p_read_at": NOW}),
        ], final=final)
    assert counts == [1, 1, 2, 1]
    assert _reads(db) == {("first", "nurse"), ("first", "admin"), ("second", "nurse")}


def test_a_key_from_an_earlier_batch_is_a_plain_value(db):
    with write_transaction(db) as conn:
        run_all(conn, [(NOTIFY, _notice("earlier"))])
        [nid] = conn.execute(sa.select(notification.c.id)).scalars().all()
        run_all(conn, [(READ, {"p_notification_id": nid, "p_user": "nurse", "p_read_at": NOW})])
    assert _reads(db) == {("earlier", "nurse")}


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
