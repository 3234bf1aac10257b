"""The scheduler: fires due timers (and, with deadlines, reminders) from the index.

Runs inside `qinglian serve` (a background APScheduler job) and standalone as
`qinglian scheduler`; any number of them may run against one database (see engine.timers).
On start it drains everything that fell due while it was stopped, oldest first.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine import logging_setup
from engine.db.transactions import write_transaction
from engine.db.schema import scheduler_heartbeat

log = logging.getLogger(__name__)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SchedulerEngine(Protocol):
    """What the scheduler asks of the engine: one operation per kind of due work, the clock, the database."""

    db: sa.Engine
    clock: Clock

    def fire_due_timers(self, *, owner: str, limit: int, lease: timedelta) -> int: ...

    def run_schedules(self) -> int: ...

    def sweep_deadlines(self, limit: int = 200) -> int: ...


class TimerScheduler:
    def __init__(self, engine: SchedulerEngine, *, owner: str | None = None, interval: float = 1.0, batch: int = 200,
                 lease: timedelta = timedelta(seconds=60), jobs: tuple = ()):
        self.engine = engine
        # Slower periodic work the composition root adds: (id, minutes, function), e.g. the staff sync
        # from the hospital's directory (engine.bootstrap.scheduled_jobs).
        self.jobs = tuple(jobs)
        self.owner = owner or default_owner()
        self.interval = interval
        self.batch = batch
        self.lease = lease
        self.fired_total = 0
        self._lock = threading.Lock()
        self._aps = None

    def run_once(self) -> int:
        """Fire everything due now, batch after batch; returns how many timers fired."""
        if not self._lock.acquire(blocking=False):
            return 0          # the previous tick is still working
        try:
            with logging_setup.request_context():      # the tick's engine log lines share one id
                return self._tick()
        finally:
            self._lock.release()

    def _tick(self) -> int:
        try:
            fired = 0
            while True:
                n = self.engine.fire_due_timers(owner=self.owner, limit=self.batch, lease=self.lease)
                fired += n
                if n == 0:
                    break
            self.engine.run_schedules()
            self.engine.sweep_deadlines()
            self.fired_total += fired
            self._heartbeat()
            return fired
        except Exception:  # keep ticking: one bad instance must not stop every timer
            log.exception("scheduler tick failed")
            return 0

    def _heartbeat(self) -> None:
        now = self.engine.clock.now()
        with write_transaction(self.engine.db) as conn:
            updated = conn.execute(scheduler_heartbeat.update().where(scheduler_heartbeat.c.owner == self.owner)
                                   .values(beat_at=now, fired_total=self.fired_total)).rowcount
            if not updated:
                conn.execute(scheduler_heartbeat.insert().values(owner=self.owner, beat_at=now,
                                                                 fired_total=self.fired_total))

    def start_background(self) -> None:
        self.run_once()
        self._aps = BackgroundScheduler(daemon=True)
        self._add_jobs(self._aps)
        self._aps.start()

    def _add_jobs(self, aps) -> None:
        aps.add_job(self.run_once, "interval", seconds=self.interval, max_instances=1, coalesce=True,
                    id="qinglian-timers")
        for job_id, minutes, func in self.jobs:
            aps.add_job(_logged(job_id, func), "interval", minutes=minutes, max_instances=1, coalesce=True,
                        id=job_id)

    def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=True)
            self._aps = None

    def run_forever(self) -> None:
        self.run_once()
        aps = BlockingScheduler()
        self._add_jobs(aps)
        log.info("scheduler %s running every %ss", self.owner, self.interval)
        aps.start()


def _logged(job_id: str, func):
    def run():
        try:
            result = func()
            log.info("%s done: %s", job_id, result)
        except Exception:  # the next run tries again; timers keep firing meanwhile
            log.exception("%s failed", job_id)
    return run


def heartbeats(db) -> list[dict]:
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(scheduler_heartbeat)
                                                       .order_by(scheduler_heartbeat.c.owner))]
