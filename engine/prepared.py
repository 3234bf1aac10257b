"""Prepared write statements for the hot path.

An engine step writes a handful of statements. Building and compiling SQLAlchemy expressions for
each costs more than the database does, so the statements are compiled once per dialect and run
on the DBAPI cursor of the current transaction, with SQLAlchemy's own bind processors (so a
datetime is stored exactly as SQLAlchemy would store it).
"""
from __future__ import annotations

import threading
from collections import namedtuple

import sqlalchemy as sa


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
        return self._bind(self._for(dialect), params)

    @staticmethod
    def _bind(compiled: tuple, params) -> tuple[str, list]:
        sql, positional, names, processors, defaults = compiled
        rows = params if isinstance(params, list) else [params]
        if defaults and any(n not in rows[0] for n in names):
            rows = [{**defaults, **p} for p in rows]
        if positional:
            return sql, [tuple(processors[n](p[n]) if n in processors else p[n] for n in names) for p in rows]
        return sql, [{n: (processors[n](p[n]) if n in processors else p[n]) for n in names} for p in rows]

    def executions(self, dialect, params) -> list[tuple[str, list]]:
        """(sql, rows) pairs that carry out the statement: one, unless a subclass splits it."""
        return [self.bind(dialect, params)]

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


class PreparedInsert(Prepared):
    """An INSERT of one row per parameter dict, sent as multi-row INSERTs on PostgreSQL.

    In a psycopg pipeline every row of an `executemany` is its own execute, and each costs
    more client time than the database spends on it; one `INSERT ... VALUES (...), (...)` per
    batch is much cheaper. Row counts are split into powers of two (11 rows: 8 + 2 + 1), so
    that a statement has at most a handful of shapes to compile and for the server to prepare.
    SQLite's `executemany` is a single call already and is kept.
    """

    MAX_ROWS = 64

    def __init__(self, table, exclude=()):
        self.table = table
        self.columns = [c for c in table.columns if c.name not in exclude]
        super().__init__(table.insert().values({c.name: sa.bindparam("p_" + c.name) for c in self.columns}))
        self._multi: dict[int, Prepared] = {}

    def _rows_statement(self, n: int) -> Prepared:
        hit = self._multi.get(n)
        if hit is None:
            hit = Prepared(self.table.insert().values([
                {c.name: sa.bindparam(f"p_{c.name}__{i}", type_=c.type) for c in self.columns} for i in range(n)]))
            with self._lock:
                self._multi[n] = hit
        return hit

    def executions(self, dialect, params) -> list[tuple[str, list]]:
        rows = params if isinstance(params, list) else [params]
        if dialect.name != "postgresql" or len(rows) == 1:
            return [self.bind(dialect, rows)]
        out, start = [], 0
        while start < len(rows):
            n = min(self.MAX_ROWS, 1 << (len(rows) - start).bit_length() - 1)   # largest power of two that fits
            flat = {f"{k}__{i}": v for i, row in enumerate(rows[start:start + n]) for k, v in row.items()}
            out.append(self._rows_statement(n).bind(dialect, flat))
            start += n
        return out


listeners: list = []   # callables(sql, n_rows, params) — the benchmark counts writes with this


class GuardFailed(Exception):
    """The batch's first statement (a guard) did not match exactly one row; nothing after it counts."""


def run_all(conn, batch: list[tuple[Prepared, object]], *, guard_first: bool = False) -> list[int]:
    """Execute (statement, params) pairs in order in the connection's transaction.

    On PostgreSQL they go in one pipeline: one network round trip for the batch instead of one
    per statement. Returns each statement's row count. With `guard_first`, the first statement
    must change (an UPDATE) or return (a SELECT) exactly one row, else GuardFailed is raised
    (the caller rolls back).
    """
    raw = conn.connection.dbapi_connection
    dialect = conn.dialect
    planned = [stmt.executions(dialect, params) for stmt, params in batch]
    if listeners:
        for (stmt, params), executions in zip(batch, planned):
            # listeners count logical rows: re-bind a statement that was split into multi-row INSERTs
            sql, rows = executions[0] if len(executions) == 1 and len(executions[0][1]) == len(
                params if isinstance(params, list) else [params]) else stmt.bind(dialect, params)
            for listener in listeners:
                listener(sql, rows)
    cursors: list[list] = []      # per statement, the cursors of its executions
    counts: list[int] = []
    pipeline = _PgPipeline(raw) if dialect.name == "postgresql" else _NoPipeline()
    try:
        try:
            with pipeline:
                for executions in planned:
                    mine = []
                    cursors.append(mine)
                    for sql, rows in executions:
                        cur = raw.cursor()
                        mine.append(cur)
                        if len(rows) > 1:
                            cur.executemany(sql, rows)
                        else:
                            cur.execute(sql, rows[0])
                    if pipeline.sequential:
                        counts.append(sum(_count(c) for c in mine))
                        if guard_first and len(counts) == 1 and counts[0] != 1:
                            raise GuardFailed()
        except GuardFailed:
            raise
        except Exception:
            if guard_first and cursors and cursors[0][0].rowcount == 0:
                raise GuardFailed() from None
            raise
        if not pipeline.sequential:
            counts = [sum(_count(c) for c in mine) for mine in cursors]
        if guard_first and counts[0] != 1:
            raise GuardFailed()
        return counts
    finally:
        for mine in cursors:
            for c in mine:
                c.close()


def _count(cursor) -> int:
    """Rows changed, or rows returned by a SELECT (sqlite3 gives no row count for a SELECT).

    Reads a SELECT's rows: call it once per cursor.
    """
    if cursor.description is not None:
        return len(cursor.fetchall())
    return cursor.rowcount


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
