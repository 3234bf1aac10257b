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

A set-up is kept per starting point: the dialect, every row of every table (a digest), the clock
and the id source's state. A test that wrote something of its own first, or moved the clock, plays the set-up
for real (and keeps that for the next test that starts where it started).
"""
from __future__ import annotations

import copy
import hashlib
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from engine.db.schema import metadata


def _fingerprint(db) -> str:
    """A digest of every row of every table: where a set-up starts from."""
    digest = hashlib.blake2b(digest_size=16)
    with db.connect() as conn:
        for name in tables_with_rows(conn):
            digest.update(name.encode())
            # in any order: rows come back in storage order, which a restore need not keep
            for row in sorted(repr(tuple(r)) for r in conn.exec_driver_sql(f'SELECT * FROM "{name}"')):
                digest.update(row.encode())
    return digest.hexdigest()


@dataclass
class _Kept:
    data: object                    # SQLite: a file; PostgreSQL: {table: COPY data}
    now: object                     # the clock after the set-up
    ids: object                     # the state of the id source after it
    value: object                   # what the set-up returned


class Snapshots:
    def __init__(self):
        self._kept: dict[tuple, _Kept] = {}
        self._folder = Path(tempfile.mkdtemp(prefix="qinglian-snapshots-"))

    def once(self, key: tuple, db, play, *, clock=None, ids=None):
        """`play()`'s value, with the database — and the clock and id source, when given — as `play()`
        left them: played the first time `key` is asked for from a starting point (dialect, rows, clock,
        ids) in this process, restored on later calls from the same point."""
        rng = ids._rng if ids is not None else None
        key = (db.dialect.name, *key, _fingerprint(db),
               clock.now() if clock is not None else None, rng.getstate() if rng is not None else None)
        kept = self._kept.get(key)
        if kept is not None:
            self._restore(db, kept.data)
            if clock is not None:
                clock.set(kept.now)
            if rng is not None:
                rng.setstate(kept.ids)
            return copy.deepcopy(kept.value)          # a test that changes it changes its own
        value = play()
        self._kept[key] = _Kept(self._take(db, len(self._kept)), clock.now() if clock is not None else None,
                                rng.getstate() if rng is not None else None, copy.deepcopy(value))
        return value

    def _take(self, db, n: int):
        if db.dialect.name == "sqlite":
            path = self._folder / f"{n}.db"
            with _sqlite(db.url.database) as live, _sqlite(path) as kept:
                live.backup(kept)
            return path
        data = {}
        with db.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            for name in tables_with_rows(conn):
                with cursor.copy(f'COPY "{name}" TO STDOUT (FORMAT BINARY)') as stream:
                    data[name] = b"".join(bytes(block) for block in stream)
            conn.rollback()
        return data

    def _restore(self, db, data) -> None:
        if db.dialect.name == "sqlite":
            with _sqlite(data) as kept, _sqlite(db.url.database) as live:
                kept.backup(live)
            return
        with db.begin() as conn:
            empty_pg(conn)
            cursor = conn.connection.dbapi_connection.cursor()
            for name, rows in data.items():
                with cursor.copy(f'COPY "{name}" FROM STDIN (FORMAT BINARY)') as stream:
                    stream.write(rows)
            conn.exec_driver_sql("; ".join(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', '{_SERIAL[name]}'), max(\"{_SERIAL[name]}\")) "
                f'FROM "{name}"' for name in data if name in _SERIAL) or "SELECT 1")


def empty_pg(conn) -> None:
    """Every row of a PostgreSQL test database deleted and its sequences restarted, in one round trip,
    leaving the transaction with triggers held (foreign keys, append-only guards) for what follows.
    (DELETE, not TRUNCATE: a test database holds a few rows, and TRUNCATE's new files cost more.)"""
    script = ["SET LOCAL session_replication_role = replica"]
    for name in tables_with_rows(conn):
        script.append(f'DELETE FROM "{name}"')
        key = _SERIAL.get(name)
        if key is not None:
            script.append(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', '{key}'), 1, false)")
    conn.exec_driver_sql("; ".join(script))


def tables_with_rows(conn) -> list[str]:
    """The tables that hold a row, in one round trip."""
    return list(conn.exec_driver_sql(_PROBES).scalars())


# table -> its integer key, where it has one alone (setval(NULL, …) when the column has no sequence)
_SERIAL = {t.name: key[0].name for t in metadata.sorted_tables
           for key in [list(t.primary_key.columns)] if len(key) == 1 and isinstance(key[0].type, sa.Integer)}
_PROBES = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")"
                             for t in metadata.sorted_tables)


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
