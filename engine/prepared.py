"""Prepared write statements for the hot path.

An engine step writes a handful of statements. Building and compiling SQLAlchemy expressions for
each costs more than the database does, so the statements are compiled once per dialect and run
on the DBAPI cursor of the current transaction, with SQLAlchemy's own bind processors (so a
datetime is stored exactly as SQLAlchemy would store it).
"""
from __future__ import annotations

import threading
from collections import namedtuple


class Prepared:
    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple] = {}
        self._row = None
        self._lock = threading.Lock()

    def _for(self, dialect):
        hit = self._compiled.get(dialect.name)
        if hit is None:
            compiled = self.statement.compile(dialect=dialect)
            names = list(compiled.positiontup) if compiled.positional else \
                list(compiled.construct_params(_check=False))
            processors = compiled._bind_processors
            # literal values baked into the statement (e.g. LIMIT 1) are binds with a value
            defaults = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}
            hit = (compiled.string, compiled.positional, names, processors, defaults)
            with self._lock:
                self._compiled[dialect.name] = hit
        return hit

    def bind(self, dialect, params) -> tuple[str, list]:
        sql, positional, names, processors, defaults = self._for(dialect)
        rows = params if isinstance(params, list) else [params]
        if defaults and any(n not in rows[0] for n in names):
            rows = [{**defaults, **p} for p in rows]
        if positional:
            return sql, [tuple(processors[n](p[n]) if n in processors else p[n] for n in names) for p in rows]
        return sql, [{n: (processors[n](p[n]) if n in processors else p[n]) for n in names} for p in rows]

    def fetch(self, conn, params) -> list:
        """Run a SELECT; rows are named tuples (no result type processing: keep to plain columns)."""
        sql, rows = self.bind(conn.dialect, params)
        if self._row is None:
            self._row = namedtuple("Row", [c.name for c in self.statement.selected_columns])
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, rows[0])
            return [self._row(*r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, conn, params) -> int:
        """Execute with one dict of parameters, or many. Returns the row count."""
        return run_all(conn, [(self, params)])[0]


listeners: list = []   # callables(sql, n_rows, params) — the benchmark counts writes with this


class GuardFailed(Exception):
    """The batch's first statement (a guarded UPDATE) matched no row; nothing after it counts."""


def run_all(conn, batch: list[tuple[Prepared, object]], *, guard_first: bool = False) -> list[int]:
    """Execute (statement, params) pairs in order in the connection's transaction.

    On PostgreSQL they go in one pipeline: one network round trip for the batch instead of one
    per statement. Returns each statement's row count. With `guard_first`, the first statement
    must change exactly one row, else GuardFailed is raised (the caller rolls back).
    """
    raw = conn.connection.dbapi_connection
    bound = [stmt.bind(conn.dialect, params) for stmt, params in batch]
    for listener in listeners:
        for sql, rows in bound:
            listener(sql, rows)
    cursors = []
    pipeline = _PgPipeline(raw) if conn.dialect.name == "postgresql" else _NoPipeline()
    try:
        try:
            with pipeline:
                for sql, rows in bound:
                    cur = raw.cursor()
                    cursors.append(cur)
                    if len(rows) > 1:
                        cur.executemany(sql, rows)
                    else:
                        cur.execute(sql, rows[0])
                    if guard_first and len(cursors) == 1 and pipeline.sequential and cur.rowcount != 1:
                        raise GuardFailed()
        except GuardFailed:
            raise
        except Exception:
            if guard_first and cursors and cursors[0].rowcount == 0:
                raise GuardFailed() from None
            raise
        counts = [c.rowcount for c in cursors]
        if guard_first and counts[0] != 1:
            raise GuardFailed()
        return counts
    finally:
        for c in cursors:
            c.close()


class _NoPipeline:
    sequential = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _PgPipeline:
    sequential = False

    def __init__(self, raw):
        self._cm = raw.pipeline()

    def __enter__(self):
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)
