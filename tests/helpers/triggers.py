"""What a database administrator could do: switch a table's append-only triggers off, to tamper with
rows the application never changes (events, deployed versions) and see `audit verify` notice."""
from __future__ import annotations

from contextlib import contextmanager

# table -> (its SQLite triggers, its PostgreSQL trigger), as engine/db/schema.py creates them
APPEND_ONLY = {
    "event": (("event_no_update", "event_no_delete"), "event_append_only"),
    "process_version": (("process_version_no_update", "process_version_no_delete"), "process_version_append_only"),
}


@contextmanager
def without_triggers(db, table: str = "event"):
    """A connection in a transaction in which `table`'s append-only triggers are off; on leaving, the
    transaction commits (or rolls back on an error) and the triggers are back."""
    sqlite_triggers, pg_trigger = APPEND_ONLY[table]
    sqlite = db.dialect.name == "sqlite"
    saved = []
    try:
        with db.begin() as conn:
            if sqlite:
                saved = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name=?",
                                             (table,)).scalars().all()
                for name in sqlite_triggers:
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            else:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}")
            yield conn
    finally:
        with db.begin() as conn:
            if sqlite:
                for sql in saved:
                    conn.exec_driver_sql(sql)
            else:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {pg_trigger}")
