"""Counting what a PostgreSQL operation sends: each psycopg execute, the BEGIN psycopg sends before the
first statement of a transaction, and each COMMIT or ROLLBACK of a transaction that sent something.

Each is one network round trip, so the count is what an operation's latency on PostgreSQL is made of
besides the server's own work — except statements sent in psycopg's pipeline mode, which share one:
they are listed prefixed "PIPELINED", and a run of them costs one round trip (the sync at its end).
"""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def counting(monkeypatch):
    """Yield the list the round trips are appended to, as ("BEGIN" | "COMMIT" | "ROLLBACK" | the verb
    and its first words) strings."""
    import psycopg

    idle = psycopg.pq.TransactionStatus.IDLE
    sent: list[str] = []

    def wrap(cls, name):
        original = getattr(cls, name)

        def execute(self, query, *args, **kwargs):
            conn = self.connection
            if not conn.autocommit and conn.pgconn.transaction_status == idle:
                sent.append("BEGIN")
            text = query if isinstance(query, str) else query.as_string(conn)
            piped = conn.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF
            sent.append(("PIPELINED " if piped else "") + " ".join(text.split()[:6]))
            return original(self, query, *args, **kwargs)
        monkeypatch.setattr(cls, name, execute)

    def ending(name):
        original = getattr(psycopg.Connection, name)

        def end(self):
            if self.pgconn.transaction_status != idle:
                sent.append(name.upper())
            return original(self)
        monkeypatch.setattr(psycopg.Connection, name, end)

    for cls in (psycopg.Cursor, psycopg.RawCursor, psycopg.ClientCursor, psycopg.ServerCursor):
        for name in ("execute", "executemany"):
            if name in cls.__dict__:
                wrap(cls, name)
    ending("commit")
    ending("rollback")
    yield sent
