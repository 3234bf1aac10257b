"""The fault logic of the load test at small scale: a scheduler killed with SIGKILL in the middle of
firing a batch of due timers loses none and fires none twice — another scheduler takes over its
timers once their leases expire — and the audit chains verify. Real `qinglian scheduler` processes
on a drill database, whose virtual clock moves for every process (no waiting for real deadlines)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.audit import verify as audit
from engine.deadlines import drills
from bench.loadtest import checks
from bench.loadtest.cluster import Member
from engine.db.schema import event, timer
from engine.bpmn.validation import SourceFile
from bench.loadtest.seed import WORKLOADS

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

TIMERS = 160


def _scheduler(url: str, tmp_path, name: str) -> Member:
    import os
    import sys
    env = dict(os.environ, DATABASE_URL=url, QINGLIAN_INSTANCE_DIR=str(tmp_path), QINGLIAN_LOG_LEVEL="WARNING")
    return Member(name, [sys.executable, "-m", "engine", "scheduler", "--owner", name, "--interval", "0.2"],
                  env, tmp_path / f"{name}.log")


def _count(db, query) -> int:
    with db.connect() as conn:
        return conn.execute(query).scalar()


def _poll(condition, timeout: float = 120.0, every: float = 0.05) -> bool:
    """Watch real processes work (not a deadline: the virtual clock decides what is due)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(every)
    return False


def test_a_scheduler_killed_mid_batch_loses_no_timer_and_fires_none_twice(engine, db, clock, tmp_path):
    url = db.url.render_as_string(hide_password=False)
    engine.deploy([SourceFile("load_timer.bpmn", (WORKLOADS / "load_timer.bpmn").read_bytes())], deployed_by="owner")
    instances = [engine.start("load_timer", started_by="owner").id for _ in range(TIMERS)]
    drills.make_sandbox(db, clock.now() + timedelta(minutes=1))          # every timer (15 s) is due
    fired = sa.select(sa.func.count()).select_from(event).where(event.c.type == "timer_fired")

    first = _scheduler(url, tmp_path, "sched-killed")
    first.start()
    try:
        assert _poll(lambda: _count(db, fired) >= 20), (tmp_path / "sched-killed.log").read_text()
        first.kill9()
    finally:
        first.kill9()
    at_kill = _count(db, fired)
    leased = _count(db, sa.select(sa.func.count()).select_from(timer).where(timer.c.lease_owner == "sched-killed"))
    assert at_kill < TIMERS and leased > 0, "the kill must land mid-batch, with timers still leased"

    second = _scheduler(url, tmp_path, "sched-survivor")
    second.start()
    try:
        # the dead scheduler's leases (60 s) hold its timers until they expire on the drill clock
        drills.set_clock(db, clock.now() + timedelta(minutes=3))
        assert _poll(lambda: _count(db, sa.select(sa.func.count()).select_from(timer)) == 0), \
            (tmp_path / "sched-survivor.log").read_text()
    finally:
        second.stop()

    findings = checks.check(db, [], [], instances)
    assert (findings.timers_fired_once, findings.timers_fired_twice, findings.timers_not_fired) == (TIMERS, 0, 0)
    assert audit.verify_report(db, None).ok
