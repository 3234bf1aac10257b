"""Operations endpoints and per-request instrumentation: /healthz, /readyz, /metrics, request ids,
access log lines and request latency by route.

/healthz and /readyz need no sign-in and say nothing about the data: only which checks pass.
/metrics is unauthenticated as Prometheus expects; it carries counts and latencies, never people.
Keep it off the public network: set QINGLIAN_METRICS_ALLOW to the scrapers' addresses (comma-
separated IPs or CIDR networks) — others get 404 — or block /metrics at the load balancer.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, Response, g, jsonify, request

from engine import logging_setup, metrics
from engine.db import migrate
from engine.db.schema import scheduler_heartbeat

from .session import engine

log = logging.getLogger("qinglian.access")

HEARTBEAT_MAX_AGE = timedelta(seconds=float(os.environ.get("QINGLIAN_HEARTBEAT_MAX_AGE", "30")))


def init_app(app: Flask) -> None:
    allow = _networks(os.environ.get("QINGLIAN_METRICS_ALLOW", ""))

    @app.before_request
    def begin_request():
        g.request_started = time.perf_counter()
        g.request_id_token = logging_setup.request_id.set(
            logging_setup.new_request_id(request.headers.get("X-Request-ID")))

    @app.after_request
    def end_request(resp):
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
        metrics.http_request_seconds.labels(request.method, route).observe(seconds)
        metrics.http_requests_total.labels(request.method, route, str(resp.status_code)).inc()
        metrics.observe_pool(engine().db)
        rid = logging_setup.request_id.get()
        if rid:
            resp.headers["X-Request-ID"] = rid
        # the route, never the path or query string: paths hold ids, query strings hold search words
        # and the public report's query code
        log.info("request", extra={"method": request.method, "route": route, "status": resp.status_code,
                                   "duration_ms": round(seconds * 1000, 1)})
        return resp

    @app.teardown_request
    def forget_request_id(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            logging_setup.request_id.reset(token)

    @app.get("/healthz")
    def healthz():
        """The process is alive and answering (nothing else is checked)."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        """Ready for traffic: the database answers, its schema is this version's, a scheduler ticks."""
        checks = readiness(engine())
        ready = all(v == "ok" for v in checks.values())
        return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503

    @app.get("/metrics")
    def prometheus_metrics():
        if allow and not _allowed(request.remote_addr, allow):
            return Response("not found\n", status=404, mimetype="text/plain")
        eng = engine()
        return Response(metrics.exposition(eng.db, eng.clock),
                        mimetype="text/plain; version=0.0.4; charset=utf-8")


def readiness(eng) -> dict[str, str]:
    """Each check's outcome as a word: ok, unreachable, outdated, stale."""
    checks = {"database": "ok", "schema": "ok", "scheduler": "ok"}
    try:
        with eng.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            newest = conn.execute(sa.select(sa.func.max(scheduler_heartbeat.c.beat_at))).scalar()
    except sa.exc.SQLAlchemyError:
        log.warning("readiness: the database does not answer")
        return {"database": "unreachable", "schema": "unknown", "scheduler": "unknown"}
    try:
        migrate.check_current(eng.db)
    except migrate.SchemaMismatch as exc:
        log.warning("readiness: %s", exc.message)
        checks["schema"] = "mismatch"
    if newest is None:
        checks["scheduler"] = "none"
    else:
        if newest.tzinfo is None:
            from datetime import timezone
            newest = newest.replace(tzinfo=timezone.utc)
        if eng.clock.now() - newest > HEARTBEAT_MAX_AGE:
            checks["scheduler"] = "stale"
    return checks


def _networks(text: str) -> list:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def _allowed(addr: str | None, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(addr or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)
