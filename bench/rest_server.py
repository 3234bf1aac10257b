"""The production WSGI app (`web.wsgi:app`) as `bench/rest_bench.py` serves it: unchanged, plus a count
of the SQL statements of a request, for the benchmark only.

A request carrying `X-Bench-Count-SQL: 1` is answered with `X-Bench-SQL: {"SELECT": n, ...}`: every
statement SQLite ran for it (its trace callback, so BEGIN and COMMIT and statements sent around
SQLAlchemy count too), by verb. Other requests run with no callback at all, so the timed ones cost
what they cost in production. Nothing here is imported by the product; gunicorn loads this module
instead of `web.wsgi` only in the benchmark.
"""
from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import event

from web.wsgi import app as _app

_counts: Counter | None = None       # gunicorn's sync worker: one request at a time


def _trace(sql: str) -> None:
    if _counts is not None:
        _counts[sql.lstrip().split(None, 1)[0].upper()] += 1


def _on_checkout(dbapi_conn, _record, _proxy) -> None:
    dbapi_conn.set_trace_callback(_trace if _counts is not None else None)


event.listen(_app.extensions["qinglian"].db, "checkout", _on_checkout)


def _counting(wsgi_app):
    def app(environ, start_response):
        global _counts
        if environ.get("HTTP_X_BENCH_COUNT_SQL") != "1":
            return wsgi_app(environ, start_response)
        _counts = Counter()

        def respond(status, headers, exc_info=None):
            headers.append(("X-Bench-SQL", json.dumps(dict(_counts))))
            return start_response(status, headers, exc_info)
        try:
            return wsgi_app(environ, respond)
        finally:
            _counts = None
    return app


_app.wsgi_app = _counting(_app.wsgi_app)
app = _app
