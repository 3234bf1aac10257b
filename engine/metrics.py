"""Prometheus metrics: what this process measures, and what the database says at scrape time.

Process-local measurements (latencies, firing lag, pool use) are prometheus-client metrics; under
gunicorn they run in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by web/gunicorn_conf.py before
this module is imported) so a scrape sums every worker. Gauges about the work itself — instances by
process and status, open and overdue tasks, waiting and due timers, scheduler heartbeats — are read
from the database when scraped, so every node answers for the whole cluster.

No label ever names a person: labels are process keys, statuses, routes and scheduler names.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from engine.db.schema import TASK_OPEN, human_task, process_instance, scheduler_heartbeat, timer

log = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
HEARTBEAT_WINDOW_SECONDS = 3600        # older heartbeats are schedulers gone for good (restarted under a new pid)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

task_completion_seconds = Histogram(
    "qinglian_task_completion_seconds", "Time the engine took to complete a human task (lock to commit)",
    ["process"], buckets=LATENCY_BUCKETS)
timer_firing_lag_seconds = Histogram(
    "qinglian_timer_firing_lag_seconds", "How long after its due moment a timer fired",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600))
timers_fired_total = Counter("qinglian_timers_fired_total", "Timers fired by this process's scheduler")
http_request_seconds = Histogram(
    "qinglian_http_request_duration_seconds", "Request latency by route (the URL rule, not the path)",
    ["method", "route"], buckets=LATENCY_BUCKETS)
http_requests_total = Counter("qinglian_http_requests_total", "Requests answered, by route and status",
                              ["method", "route", "status"])
db_pool_checked_out = Gauge("qinglian_db_pool_checked_out", "Database connections in use (summed over workers)",
                            multiprocess_mode="livesum")
db_pool_size = Gauge("qinglian_db_pool_size", "Database connections held open (summed over workers)",
                     multiprocess_mode="livesum")


def observe_completion(process_key: str, seconds: float) -> None:
    task_completion_seconds.labels(process_key).observe(seconds)


def observe_fired(lags_seconds: list[float]) -> None:
    for lag in lags_seconds:
        timer_firing_lag_seconds.observe(max(lag, 0.0))
    timers_fired_total.inc(len(lags_seconds))


def observe_pool(db: sa.Engine) -> None:
    pool = db.pool
    if hasattr(pool, "checkedout"):
        db_pool_checked_out.set(pool.checkedout())
        db_pool_size.set(pool.checkedin() + pool.checkedout())


class DatabaseCollector:
    """Cluster-wide gauges computed from the database on each scrape (a handful of indexed counts)."""

    def __init__(self, db: sa.Engine, clock):
        self.db, self.clock = db, clock

    def collect(self):
        now: datetime = self.clock.now()
        with self.db.connect() as conn:
            instances = GaugeMetricFamily("qinglian_instances", "Process instances by process and status "
                                          "(started = the sum; completed and error are statuses)",
                                          labels=["process", "status"])
            for key, status, n in conn.execute(
                    sa.select(process_instance.c.process_key, process_instance.c.status, sa.func.count())
                    .group_by(process_instance.c.process_key, process_instance.c.status)):
                instances.add_metric([key, status], n)
            yield instances
            open_tasks = conn.execute(sa.select(sa.func.count()).select_from(human_task)
                                      .where(TASK_OPEN)).scalar()
            overdue = conn.execute(sa.select(sa.func.count()).select_from(human_task)
                                   .where(TASK_OPEN, human_task.c.due_at < now)).scalar()
            yield GaugeMetricFamily("qinglian_human_tasks_open", "Open human tasks", value=open_tasks)
            yield GaugeMetricFamily("qinglian_human_tasks_overdue", "Open human tasks past their due moment",
                                    value=overdue)
            waiting, due, oldest = conn.execute(sa.select(
                sa.func.count(), sa.func.count().filter(timer.c.due_at < now),
                sa.func.min(timer.c.due_at).filter(timer.c.due_at < now))).one()
            yield GaugeMetricFamily("qinglian_timers_waiting", "Timers in the index (not fired yet)", value=waiting)
            yield GaugeMetricFamily("qinglian_timers_due", "Timers past their due moment, not fired yet", value=due)
            yield GaugeMetricFamily("qinglian_timers_oldest_due_seconds",
                                    "How long the oldest due timer has waited (0: none due)",
                                    value=_age(now, oldest) if oldest else 0.0)
            age = GaugeMetricFamily("qinglian_scheduler_heartbeat_age_seconds",
                                    "Seconds since each scheduler's last tick", labels=["owner"])
            fired = GaugeMetricFamily("qinglian_scheduler_fired", "Timers fired by each scheduler since it started",
                                      labels=["owner"])
            for row in conn.execute(sa.select(scheduler_heartbeat)):
                seconds = _age(now, row.beat_at)
                if seconds <= HEARTBEAT_WINDOW_SECONDS:
                    age.add_metric([row.owner], seconds)
                    fired.add_metric([row.owner], row.fired_total)
            yield age
            yield fired


def _age(now: datetime, then: datetime) -> float:
    if then.tzinfo is None:
        from datetime import timezone
        then = then.replace(tzinfo=timezone.utc)
    return round((now - then).total_seconds(), 3)


def exposition(db: sa.Engine, clock) -> bytes:
    """The text a Prometheus scrape reads: this process's (or every worker's) metrics and the database's."""
    from prometheus_client import REGISTRY
    if MULTIPROCESS:
        from prometheus_client import multiprocess
        local = CollectorRegistry()
        multiprocess.MultiProcessCollector(local)
    else:
        local = REGISTRY
    cluster = CollectorRegistry(auto_describe=False)
    cluster.register(DatabaseCollector(db, clock))
    return generate_latest(local) + generate_latest(cluster)
