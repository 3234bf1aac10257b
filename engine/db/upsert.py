"""Adding to counters keyed by a table's primary key: INSERT … ON CONFLICT DO UPDATE, the same
statement on PostgreSQL and SQLite (≥ 3.24), sent once for many rows."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def add_to(conn, table: sa.Table, rows: list[dict], counters: tuple[str, ...]) -> None:
    """Each row (every primary-key column and every counter) inserted, or its counters added to the
    row with the same key."""
    if not rows:
        return
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    stmt = insert.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={c: table.c[c] + insert.excluded[c] for c in counters})
    conn.execute(stmt, rows)


def put(conn, table: sa.Table, row: dict) -> None:
    """The row inserted, or the row with its key given the other values (last writer wins)."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    keys = [c.name for c in table.primary_key.columns]
    conn.execute(insert.values(**row).on_conflict_do_update(
        index_elements=keys, set_={c: insert.excluded[c] for c in row if c not in keys}))
