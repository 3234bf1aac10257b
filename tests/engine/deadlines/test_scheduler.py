"""Schedulers fire due timers from the index: exactly once across processes, never early, never lost."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.deadlines import drills, timers as timer_index
from engine.db.transactions import write_transaction
from engine.errors import Forbidden, Invalid
from engine.deadlines.scheduler import TimerScheduler, heartbeats
from engine.db.schema import event, process_instance, timer
from tests.conftest import ROOT as PROJECT_ROOT, START

pytestmark = pytest.mark.both_databases

ROOT = str(PROJECT_ROOT)


@pytest.fixture
def drill(db, engine):
    """The test database as a drill database: every process reads the same virtual clock."""
    drills.make_sandbox(db, START)
    engine.set_clock(drills.VirtualClock(db, ttl=0))
    engine.verify_persistence = False       # speed: thousands of instances below
    return engine


def _start_many(engine, n):
    for _ in range(n):
        engine.start("wait_timer", started_by="load")


def _fired_counts(db):
    with db.connect() as conn:
        rows = conn.execute(sa.select(event.c.task_id, sa.func.count()).where(event.c.type == "timer_fired")
                            .group_by(event.c.task_id)).all()
    return [c for _, c in rows]


# Timers each scheduler process claims per transaction: small, so that a few hundred timers make
# several batches per process (the product's 200 would need thousands).
BATCH = "20"


def _scheduler_process(db, owner, batch: str = BATCH):
    env = dict(os.environ, DATABASE_URL=db.url.render_as_string(hide_password=False), PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "timers", "run-due", "--owner", owner,
                             "--batch", batch],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_three_scheduler_processes_fire_each_due_timer_exactly_once(db, drill, deploy):
    n = 240                                                    # several batches each
    deploy("wait_timer.bpmn")
    _start_many(drill, n)
    drills.advance_clock(db, "2h")
    procs = [_scheduler_process(db, f"sched-{i}") for i in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    counts = _fired_counts(db)
    assert len(counts) == n and set(counts) == {1}           # every timer, each exactly once
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(timer)).scalar() == 0
        statuses = conn.execute(sa.select(process_instance.c.status, sa.func.count())
                                .group_by(process_instance.c.status)).all()
    assert statuses == [("completed", n)]
    fired_by = [int(out.strip().split()[1]) for out, _ in outs]
    assert sum(fired_by) == n
    assert {h["owner"] for h in heartbeats(db)} == {"sched-0", "sched-1", "sched-2"}


@pytest.mark.slow
def test_a_killed_scheduler_loses_nothing(db, drill, deploy):
    n = 200
    deploy("wait_timer.bpmn")
    _start_many(drill, n)
    drills.advance_clock(db, "2h")
    victim = _scheduler_process(db, "victim", batch="100")   # killed well inside its first batch
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_fired_counts(db)) < 10:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)                      # kill -9 in the middle of its batches
    victim.wait()
    fired_before = len(_fired_counts(db))
    assert 0 < fired_before < n
    with db.connect() as conn:
        leased = conn.execute(sa.select(sa.func.count()).select_from(timer)
                              .where(timer.c.lease_owner == "victim")).scalar()
    assert leased > 0                                       # it died holding claims
    assert TimerScheduler(drill, owner="rescuer").run_once() == n - fired_before - leased
    drills.advance_clock(db, "2m")                          # the dead scheduler's leases expire
    TimerScheduler(drill, owner="rescuer").run_once()
    counts = _fired_counts(db)
    assert len(counts) == n and set(counts) == {1}


def test_timers_due_while_stopped_fire_at_start_up_in_due_order(db, drill, deploy):
    deploy("wait_timer.bpmn")
    for minutes in (30, 10, 20):
        drills.advance_clock(db, f"{minutes}m")
        drill.start("wait_timer", started_by="x")
    drills.advance_clock(db, "3h")                          # everything was stopped meanwhile
    assert TimerScheduler(drill, owner="boot").run_once() == 3
    with db.connect() as conn:
        fired = conn.execute(sa.select(event.c.data_json).where(event.c.type == "timer_fired")
                             .order_by(event.c.id)).scalars().all()
    dues = [__import__("json").loads(d)["due_at"] for d in fired]
    assert dues == sorted(dues)
    assert TimerScheduler(drill, owner="boot").run_once() == 0


def test_a_claimed_timer_is_not_fired_early_or_by_another_scheduler(db, drill, deploy):
    deploy("wait_timer.bpmn")
    drill.start("wait_timer", started_by="x")
    drills.advance_clock(db, "59m")
    assert TimerScheduler(drill, owner="a").run_once() == 0      # never early
    drills.advance_clock(db, "2m")
    with write_transaction(db) as conn:
        claimed = timer_index.claim_due(conn, drill.clock.now(), "busy", timedelta(seconds=60), 10)
    assert len(claimed) == 1
    assert TimerScheduler(drill, owner="b").run_once() == 0      # leased to another scheduler
    drills.advance_clock(db, "61s")
    assert TimerScheduler(drill, owner="b").run_once() == 1
    assert _fired_counts(db) == [1]


def test_the_drill_clock_only_exists_on_a_sandbox_database(db, engine):
    with pytest.raises(Forbidden, match="not a sandbox"):
        drills.advance_clock(db, "3d")
    drills.make_sandbox(db, START)
    assert drills.advance_clock(db, "3d") == START + timedelta(days=3)
    with pytest.raises(Invalid, match="only moves forward"):
        drills.set_clock(db, START)
    with pytest.raises(Invalid, match="cannot read the duration"):
        drills.advance_clock(db, "three days")
