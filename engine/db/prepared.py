"""Prepared write statements for the hot path.

An engine step writes a handful of statements. Building and compiling SQLAlchemy expressions for
each costs more than the database does, so the statements are compiled once per dialect and run
on the DBAPI cursor of the current transaction, with SQLAlchemy's own bind processors (so a
datetime is stored exactly as SQLAlchemy would store it).
"""
from __future__ import annotations

import re
import threading
from collections import namedtuple

import sqlalchemy as sa


def _positional(dialect):
    """The dialect, compiling to PostgreSQL's own `$1, $2...` parameters on PostgreSQL.

    run_all concatenates statements into one (renumbering their parameters), and psycopg's
    RawCursor sends such SQL as it is: psycopg's own `%s` conversion is not cached for long
    statements with many parameters and cost more than the rest of the write.
    """
    if dialect.name != "postgresql" or dialect.paramstyle == "numeric_dollar":
        return dialect
    hit = _POSITIONAL.get(type(dialect))
    if hit is None:
        hit = _POSITIONAL[type(dialect)] = type(dialect)(paramstyle="numeric_dollar")
    return hit


def _cursor(conn):
    """A DBAPI cursor of the connection's transaction that takes our compiled SQL as it is."""
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        import psycopg
        return psycopg.RawCursor(raw)
    return raw.cursor()


_POSITIONAL: dict = {}


def _idle(conn) -> bool:
    """PostgreSQL, and nothing sent yet in the connection's transaction (psycopg begins it lazily)."""
    if conn.dialect.name != "postgresql":
        return False
    import psycopg
    raw = conn.connection.dbapi_connection
    return (not raw.autocommit and raw.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
            and raw.isolation_level in (None, psycopg.IsolationLevel.READ_COMMITTED))


class Prepared:
    def __init__(self, statement, *, typed: bool = False):
        """`typed`: a SELECT whose values go through their column types' result processing, as
        SQLAlchemy's own results do (dates stored as text on SQLite come back as datetimes): for reads
        that rebuild what SQLAlchemy would have read."""
        self.statement = statement
        self.typed = typed
        self._compiled: dict[str, tuple] = {}
        self._row = None
        self._processors: dict[str, list | None] = {}
        self._lock = threading.Lock()

    def _for(self, dialect):
        hit = self._compiled.get(dialect.name)
        if hit is None:
            compiled = self.statement.compile(dialect=_positional(dialect))
            names = list(compiled.positiontup) if compiled.positional else \
                list(compiled.construct_params(_check=False))
            processors = compiled._bind_processors
            # literal values baked into the statement (e.g. LIMIT 1) are binds with a value
            defaults = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}
            plan = [(n, processors.get(n)) for n in names]
            hit = (compiled.string, compiled.positional, names, plan, defaults)
            with self._lock:
                self._compiled[dialect.name] = hit
        return hit

    def bind(self, dialect, params) -> tuple[str, list]:
        """The SQL and its parameter rows (lists, or dicts for a named paramstyle), bind-processed."""
        sql, positional, names, plan, defaults = self._for(dialect)
        rows = params if isinstance(params, list) else [params]
        if defaults and any(n not in rows[0] for n in names):
            rows = [{**defaults, **p} for p in rows]
        # every processor of our column types keeps None as None: no call for it
        if positional:
            return sql, [[f(v) if (v := p[n]) is not None and f is not None else v for n, f in plan] for p in rows]
        return sql, [{n: (f(v) if (v := p[n]) is not None and f is not None else v) for n, f in plan} for p in rows]

    def executions(self, dialect, params) -> list[tuple[str, list]]:
        """(sql, rows) pairs that carry out the statement: one, unless a subclass splits it."""
        return [self.bind(dialect, params)]

    def fetch(self, conn, params, *, leading: bool = False) -> list:
        """Run a SELECT; rows are named tuples (no result type processing: keep to plain columns).

        `leading`: a read of a write transaction (at PostgreSQL's READ COMMITTED) that may run ahead
        of it: when nothing has been sent in the transaction yet, it runs on its own (autocommit), so
        that the transaction's one write can still run alone (see run_all's `final`) — a BEGIN and a
        COMMIT round trip fewer. Each statement sees its own snapshot at READ COMMITTED either way.
        """
        sql, rows = self.bind(conn.dialect, params)
        cursor = _cursor(conn)
        ahead = leading and _idle(conn)
        if ahead:
            conn.connection.dbapi_connection.autocommit = True
        try:
            cursor.execute(sql, rows[0])
            return self._rows(conn.dialect, cursor.fetchall())
        finally:
            cursor.close()
            if ahead:
                conn.connection.dbapi_connection.autocommit = False

    def _rows(self, dialect, fetched: list) -> list:
        """The driver's rows as named tuples (with their types' result processing, if `typed`)."""
        if self._row is None:
            self._row = namedtuple("Row", [c.name for c in self.statement.selected_columns])
        processors = self._processors.get(dialect.name, False) if self.typed else None
        if processors is False:
            found = [c.type._cached_result_processor(dialect, None) for c in self.statement.selected_columns]
            processors = found if any(found) else None
            with self._lock:
                self._processors[dialect.name] = processors
        if processors is None:
            return [self._row(*r) for r in fetched]
        return [self._row(*[v if f is None or v is None else f(v) for f, v in zip(processors, r)]) for r in fetched]

    def run(self, conn, params) -> int:
        """Execute with one dict of parameters, or many. Returns the row count."""
        return run_all(conn, [(self, params)])[0]


class PreparedInsert(Prepared):
    """An INSERT of one row per parameter dict, sent as multi-row INSERTs on PostgreSQL.

    One `INSERT ... VALUES (...), (...)` keeps the combined statement of run_all short. Row
    counts are split into powers of two (11 rows: 8 + 2 + 1), so that a statement has at most
    a handful of shapes to compile and for the server to prepare. SQLite's `executemany` is a
    single call already and is kept.
    """

    MAX_ROWS = 64

    def __init__(self, table, exclude=()):
        self.table = table
        self.columns = [c for c in table.columns if c.name not in exclude]
        # inline(): no RETURNING of a generated key (nothing reads it)
        super().__init__(table.insert().inline().values({c.name: sa.bindparam("p_" + c.name) for c in self.columns}))
        self._multi: dict[int, Prepared] = {}

    def _rows_statement(self, n: int) -> Prepared:
        hit = self._multi.get(n)
        if hit is None:
            hit = Prepared(self.table.insert().inline().values([
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


def fetch_together(conn, reads: list[tuple[Prepared, dict]]) -> list[list]:
    """Several SELECTs' rows (see `Prepared.fetch`), in the connection's transaction (or on their own
    when it has none, as on PostgreSQL's autocommit reads): on PostgreSQL in one round trip (psycopg's
    pipeline mode: every statement is sent, then one sync), on SQLite one after another."""
    dialect = conn.dialect
    if dialect.name != "postgresql" or len(reads) < 2:
        return [statement.fetch(conn, params) for statement, params in reads]
    raw = conn.connection.dbapi_connection
    cursors = []
    try:
        with raw.pipeline():
            for statement, params in reads:
                sql, rows = statement.bind(dialect, params)
                cursor = _cursor(conn)
                cursors.append(cursor)
                cursor.execute(sql, rows[0])
        return [statement._rows(dialect, cursor.fetchall()) for (statement, _), cursor in zip(reads, cursors)]
    finally:
        for cursor in cursors:
            cursor.close()


class GuardFailed(Exception):
    """The batch's first statement (a guard) did not match exactly one row; nothing after it counts."""


def run_all(conn, batch: list[tuple[Prepared, object]], *, guard_first: bool = False,
            final: bool = False) -> list[int]:
    """Execute (statement, params) pairs in order in the connection's transaction.

    Returns each statement's row count. With `guard_first`, the first statement must change
    (an UPDATE) or return (a SELECT) exactly one row, else GuardFailed is raised (the caller
    rolls back).

    On PostgreSQL the batch is sent as ONE statement: each part becomes a data-modifying CTE,
    `WITH s0 AS (UPDATE ... RETURNING 1), s1 AS (INSERT ... RETURNING 1), ... SELECT (SELECT
    count(*) FROM s0), ...`, which returns every part's row count. One execute costs a fraction
    of the client time of one per statement (psycopg's per-execute overhead dominated the
    operation) and is one network round trip. This is sound for our batches because no two
    parts touch the same row (new, changed and removed rows are disjoint sets), and foreign
    keys are checked at the end of the statement, so a new instance row and its task rows can
    go together. A batch too large for one statement's parameters runs part by part.

    `final`: the caller will send nothing else in this transaction. When nothing was sent
    before either, the statement is the whole transaction: on PostgreSQL it then runs on its
    own (autocommit: a single statement is atomic), without the BEGIN and COMMIT round trips;
    its guard is checked by the statement itself, which fails, changing nothing, when the guard
    part did not match exactly one row.
    """
    dialect = conn.dialect
    planned = [stmt.executions(dialect, params) for stmt, params in batch]
    if listeners:
        for (stmt, params), executions in zip(batch, planned):
            # listeners count logical rows: re-bind a statement that was split into multi-row INSERTs
            sql, rows = executions[0] if len(executions) == 1 and len(executions[0][1]) == len(
                params if isinstance(params, list) else [params]) else stmt.bind(dialect, params)
            for listener in listeners:
                listener(sql, rows)
    if dialect.name == "postgresql" and sum(len(r) * len(r[0]) for ex in planned for _, r in ex) <= MAX_PARAMS:
        counts = _run_combined(conn, planned, guard_first, final)
        if guard_first and counts[0] != 1:
            raise GuardFailed()
        return counts
    counts = []
    for executions in planned:
        n = 0
        for sql, rows in executions:
            cur = _cursor(conn)
            try:
                if len(rows) > 1:
                    cur.executemany(sql, rows)
                else:
                    cur.execute(sql, rows[0])
                n += _count(cur)
            finally:
                cur.close()
        counts.append(n)
        if guard_first and len(counts) == 1 and n != 1:
            raise GuardFailed()
    return counts


MAX_PARAMS = 30000     # PostgreSQL allows 65,535 parameters per statement


def _run_combined(conn, planned: list[list[tuple[str, list]]], guard_first: bool, final: bool) -> list[int]:
    """Run PostgreSQL statements as one WITH statement; returns the row count of each."""
    import psycopg
    raw = conn.connection.dbapi_connection
    alone = final and raw.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    guarded = alone and guard_first
    params = [value for executions in planned for _, rows in executions for row in rows for value in row]
    shape = (guarded, tuple((sql, len(rows)) for executions in planned for sql, rows in executions))
    combined = _COMBINED.get(shape)
    if combined is None:
        if len(_COMBINED) > 1000:      # shapes repeat; bound the cache all the same
            _COMBINED.clear()
        sql, owner = _combine(shape[1], [i for i, ex in enumerate(planned) for _ in ex], guarded)
        combined = _COMBINED[shape] = sql, owner
    sql, owner = combined
    cur = _cursor(conn)
    if alone:
        raw.autocommit = True
    try:
        cur.execute(sql, params)
        row = cur.fetchone()
    except psycopg.errors.DivisionByZero:   # only the guard divides: see _combine
        raise GuardFailed() from None
    finally:
        cur.close()
        if alone:
            raw.autocommit = False
    counts = [0] * len(planned)
    for index, n in zip(owner, row):
        counts[index] += n
    return counts


_COMBINED: dict = {}     # shape (sql, rows of each execution) -> (combined sql, statement of each part)
_PLACEHOLDER = re.compile(r"\$(\d+)")


def _combine(shape, statement_of_execution: list[int], guarded: bool = False) -> tuple[str, list[int]]:
    parts, owner, offset = [], [], 0
    for (sql, n_rows), index in zip(shape, statement_of_execution):
        body = sql if sql.lstrip()[:6].upper() == "SELECT" or " RETURNING " in sql else sql + " RETURNING 1"
        n_params = len(set(_PLACEHOLDER.findall(body)))
        for _ in range(n_rows):        # an executemany: one part per row, parameters renumbered
            shifted = _PLACEHOLDER.sub(lambda m, o=offset: f"${int(m.group(1)) + o}", body)
            parts.append(f"s{len(parts)} AS ({shifted})")
            owner.append(index)
            offset += n_params
    counts = [f"(SELECT count(*) FROM s{i})" for i in range(len(parts))]
    if guarded:
        # The statement fails (division by zero), and so changes nothing, unless the guard part
        # matched exactly one row. (Not a constant: PostgreSQL would fold it while planning.)
        counts.append("1 / (SELECT CASE WHEN count(*) = 1 THEN 1 ELSE 0 END FROM s0)")
    return "WITH " + ", ".join(parts) + " SELECT " + ", ".join(counts), owner


def _count(cursor) -> int:
    """Rows changed, or rows returned by a SELECT (sqlite3 gives no row count for a SELECT).

    Reads a SELECT's rows: call it once per cursor.
    """
    if cursor.description is not None:
        return len(cursor.fetchall())
    return cursor.rowcount
