"""Structured logs: one JSON object per line, each carrying the request id of the work it belongs to.

The request id is a context variable: the web layer sets it for each request and every log line
written while serving it (the engine's included) carries it; the scheduler sets one per tick.
What may be logged is decided where a line is written — ids, element ids, counts, durations —
never passwords, tokens, form contents or reporters' identities. `Scrub` is a second line of
defence for text that reaches a log from elsewhere (a library's message, an exception).
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone

request_id: ContextVar[str | None] = ContextVar("qinglian_request_id", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"(?i)((?:password|passwd|token|secret|csrf_token)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"),
     r"\1[redacted]"),
    (re.compile(r"postgresql(\+\w+)?://([^:/@\s]+):[^@\s]+@"), r"postgresql\1://\2:[redacted]@"),
]


def new_request_id(offered: str | None = None) -> str:
    """The id a caller sent (X-Request-ID), if it is a plausible id; a fresh one otherwise."""
    if offered and _REQUEST_ID.match(offered):
        return offered
    return uuid.uuid4().hex


@contextlib.contextmanager
def request_context(rid: str | None = None):
    """Run a block of work (a request, a scheduler tick) under a request id."""
    token = request_id.set(rid or new_request_id())
    try:
        yield request_id.get()
    finally:
        request_id.reset(token)


def scrub(text: str) -> str:
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time (UTC), level, logger, message, request id, extra fields."""

    FIELDS = ("method", "route", "status", "duration_ms", "instance_id", "task_id", "element_id",
              "process_key", "fired", "lag_ms", "owner")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO", *, stream=None, json_lines: bool = True) -> logging.Handler:
    """Send every log line to `stream` (stderr) as JSON; returns the handler (tests remove it)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    # request-level access lines come from web.observability; the dev server's own would repeat
    # them with the raw path and query string
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # SQLAlchemy logs statements with their parameters (password hashes, form data) at INFO
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change (with the task's data at DEBUG)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    # httpx logs each request's URL at INFO: WeCom's and DingTalk's carry the access token in the query
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return handler
