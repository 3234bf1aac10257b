"""Database snapshots: a long set-up played once per test process, then restored for each test.

Some fixtures play weeks of a campaign (the reports' scenario) or deploy every shipped process before
a test can begin; played for every test, on both databases, they were a large share of the suite's
time. `Snapshots.once` plays such a set-up the first time, keeps what it left — the whole database,
the engine's clock and its id source, and the value the set-up returned — and on later calls puts
exactly that back instead of playing it again:

- SQLite: the database file through SQLite's backup API, byte for byte.
- PostgreSQL: every table that holds rows through `COPY … TO STDOUT` (binary), restored with
  `COPY … FROM STDIN` with the foreign-key triggers held for the load (rows come back in storage
  order, not dependency order), and each identity sequence set past its table's largest id.

A restore is only taken when the database is, table by table, as it was when the set-up was first
played (the row counts agree); otherwise the set-up is played for real, so a test that wrote
something of its own first never loses it.
"""
from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from engine.db.schema import metadata


def _counts(db) -> dict[str, int]:
    """Rows per table, for the tables that hold any, in one round trip."""
    probes = " UNION ALL ".join(f"SELECT '{t.name}', (SELECT count(*) FROM {t.name})" for t in metadata.sorted_tables)
    with db.connect() as conn:
        return {name: n for name, n in conn.exec_driver_sql(probes) if n}


@dataclass
class _Kept:
    before: dict[str, int]          # the row counts the set-up started from
    data: object                    # SQLite: a file; PostgreSQL: {table: COPY data}
    now: object                     # the engine's clock after the set-up
    ids: object                     # the state of the engine's id source after it
    value: object                   # what the set-up returned


class Snapshots:
    def __init__(self):
        self._kept: dict[tuple, _Kept] = {}
        self._folder = Path(tempfile.mkdtemp(prefix="qinglian-snapshots-"))

    def once(self, key: tuple, engine, play):
        """`play()`'s value, with the database, clock and ids as `play()` left them: played on the first
        call of `key` (per dialect) in this process, restored on later ones."""
        db = engine.db
        key = (db.dialect.name, *key)
        kept = self._kept.get(key)
        before = _counts(db)
        if kept is not None and kept.before == before:
            self._restore(db, kept.data)
            engine.clock.set(kept.now)
            engine.ids._rng.setstate(kept.ids)
            return kept.value
        value = play()
        if kept is None:
            self._kept[key] = _Kept(before, self._take(db, len(self._kept)), engine.clock.now(),
                                    engine.ids._rng.getstate(), value)
        return value

    def _take(self, db, n: int):
        if db.dialect.name == "sqlite":
            path = self._folder / f"{n}.db"
            with _sqlite(db.url.database) as live, _sqlite(path) as copy:
                live.backup(copy)
            return path
        data = {}
        with db.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            for table in metadata.sorted_tables:
                if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {table.name})").scalar():
                    with cursor.copy(f"COPY {table.name} TO STDOUT (FORMAT BINARY)") as copy:
                        data[table.name] = b"".join(bytes(block) for block in copy)
            conn.rollback()
        return data

    def _restore(self, db, data) -> None:
        if db.dialect.name == "sqlite":
            with _sqlite(data) as copy, _sqlite(db.url.database) as live:
                copy.backup(live)
            return
        with db.begin() as conn:
            present = _tables_with_rows(conn)
            if present:
                conn.exec_driver_sql(f"TRUNCATE {', '.join(present)} RESTART IDENTITY CASCADE")
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            cursor = conn.connection.dbapi_connection.cursor()
            for name, rows in data.items():
                with cursor.copy(f"COPY {name} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(rows)
            for table in metadata.sorted_tables:
                [*key] = table.primary_key.columns
                if table.name in data and len(key) == 1 and isinstance(key[0].type, sa.Integer):
                    column = key[0].name            # setval(NULL, …) when the column has no sequence
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column}'), max(\"{column}\")) "
                        f'FROM "{table.name}"')


def _tables_with_rows(conn) -> list[str]:
    probes = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})" for t in metadata.sorted_tables)
    return list(conn.exec_driver_sql(probes).scalars())


class _sqlite:
    """A plain sqlite3 connection to a database file (closed on exit)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.conn = sqlite3.connect(self.path, timeout=30)
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()


SNAPSHOTS = Snapshots()
