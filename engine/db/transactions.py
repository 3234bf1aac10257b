"""Database connection and transactions.

SQLite is the embedded default (WAL, foreign keys on, one writer at a time: write transactions
start with BEGIN IMMEDIATE so two writers queue instead of failing half-way). PostgreSQL is the
production database; instance rows are locked with SELECT ... FOR UPDATE.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from engine.errors import ConcurrentUpdate
from engine.db.wal_checkpoint import checkpointer


def create_db_engine(url: str, **kwargs) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                  **kwargs)
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip per transaction; a dropped connection fails one request
    # and is replaced, and connections are recycled before servers time them out.
    kwargs.setdefault("pool_recycle", 1800)
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy not issue BEGIN itself; we issue BEGIN / BEGIN IMMEDIATE in `begin`.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run beside the writers (engine.wal_checkpoint); SQLite's own, run by the
        # committing connection, is the backstop at ~40 MB of log.
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.execute("PRAGMA cache_size=-32000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.info.get("begin_mode", "BEGIN")
        # straight on the DBAPI connection: SQLAlchemy's statement machinery (cursor, events,
        # result) costs more than the BEGIN itself, and this runs for every transaction
        conn.connection.dbapi_connection.execute(mode)


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def write_transaction(engine: sa.Engine):
    """A transaction that will write. On SQLite it takes the write lock at BEGIN."""
    with engine.connect() as conn:
        sqlite = is_sqlite(engine)
        if sqlite:
            conn.info["begin_mode"] = "BEGIN IMMEDIATE"
        try:
            with conn.begin():
                yield conn
            if sqlite:
                _after_write(engine, conn)
        except sa.exc.OperationalError as exc:
            if "locked" in str(exc.orig).lower() or "could not serialize" in str(exc.orig).lower():
                raise ConcurrentUpdate("the database is busy with another change; try again") from exc
            raise
        finally:
            conn.info.pop("begin_mode", None)


def _after_write(engine: sa.Engine, conn) -> None:
    path = engine.url.database
    if path and path != ":memory:":
        checkpointer.after_write(conn.connection.dbapi_connection, path)


@contextlib.contextmanager
def read_transaction(engine: sa.Engine, *, snapshot: bool = False):
    """Reads. On SQLite one transaction: its statements see one snapshot. On PostgreSQL each
    statement runs on its own (autocommit): at READ COMMITTED, PostgreSQL's level, each statement
    sees its own snapshot inside a transaction too, so BEGIN and the closing ROLLBACK would only
    cost two round trips per request. `snapshot`: one transaction that sees one snapshot
    throughout (REPEATABLE READ on PostgreSQL), for reads that must agree with each other or
    stream their results."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            with conn.begin():
                yield conn
        elif snapshot:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
        else:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
