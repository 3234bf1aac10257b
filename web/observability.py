"""Operations endpoints and per-request instrumentation: /healthz, /readyz, /metrics, request ids,
access log lines and request latency by route.

/healthz and /readyz need no sign-in and say nothing about the data: only which checks pass.
/metrics is unauthenticated as Prometheus expects; it carries counts and latencies, never people.
Only the scrapers' addresses may read it: QINGLIAN_METRICS_ALLOW (read by `Settings`, comma-separated
IPs or CIDR networks), by default the loopback addresses only; others get 404.
"""
from __future__ import annotations

import ipaddress
import logging
import time
from datetime import timedelta

from flask import Flask, Response, g, jsonify, request

from engine import health, logging_setup, metrics
from engine.config import Settings

from .session import engine

log = logging.getLogger("qinglian.access")
LOOPBACK = "127.0.0.0/8,::1"      # /metrics when QINGLIAN_METRICS_ALLOW names no scraper


def init_app(app: Flask, settings: Settings) -> None:
    allow = _networks(settings.metrics_allow or LOOPBACK)
    heartbeat_max_age = timedelta(seconds=settings.heartbeat_max_age_seconds)

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
        checks = health.readiness(engine(), heartbeat_max_age)
        ready = all(v == "ok" for v in checks.values())
        return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503

    @app.get("/metrics")
    def prometheus_metrics():
        if not _allowed(request.remote_addr, allow):
            return Response("not found\n", status=404, mimetype="text/plain")
        eng = engine()
        return Response(metrics.exposition(eng.db, eng.clock),
                        mimetype="text/plain; version=0.0.4; charset=utf-8")


def _networks(text: str) -> list:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def _allowed(addr: str | None, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(addr or "")
    except ValueError:
        return False
    return any(ip in net for net in networks)
