"""Exactly once under kill -9: a sender killed in the middle of a batch leaves its claimed messages
to the next sender after the lease; each person receives each message once (the vendor deduplicates
the one that may have been in flight by its idempotency key, SMS `OutId`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.db.schema import message_outbox
from engine.db.transactions import write_transaction
from engine.deadlines import notifications
from engine.messages import preferences
from engine.messages.sender import Sender
from engine.messages.sms import Sms

pytestmark = pytest.mark.both_databases
ROOT = Path(__file__).resolve().parents[3]


def test_a_sender_killed_mid_batch_leaves_each_message_sent_exactly_once(db, clock, engine, reachable, vendors):
    preferences.set_my_preferences(engine, "nurse", {"channels": ["sms"]})
    with write_transaction(db) as conn:
        for i in range(10):
            notifications.add(conn, kind="reminder", title=f"第{i}条", body="请办理", task_id=f"t-{i}",
                              now=clock.now(), user="nurse")
    vendors.vendors.sms_delay = 0.2
    doomed = subprocess.Popen([sys.executable, "-m", "tests.helpers.outbox_sender",
                               db.url.render_as_string(hide_password=False), f"{vendors.url}/sms/"],
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while len(vendors.vendors.requests) < 4 and doomed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        doomed.wait()
    assert doomed.returncode == -signal.SIGKILL
    with db.connect() as conn:
        states = conn.execute(sa.select(message_outbox.c.state, message_outbox.c.claimed_by)).all()
    assert any(s == ("pending", "doomed-sender") for s in states), "killed before its batch was done"

    vendors.vendors.sms_delay = 0
    restarted = Sender({"sms": Sms.from_settings(vendors.settings()["sms"])}, "https://lianjie.hospital.test",
                       owner="restarted")
    restarted.send_due(db, clock)                      # the lease still holds: nothing is taken over
    assert len({r["OutId"] for r in vendors.vendors.requests}) < 10
    clock.set(datetime.now(timezone.utc) + timedelta(minutes=3))   # the killed sender's lease ran out
    restarted.send_due(db, clock)

    with db.connect() as conn:
        rows = conn.execute(sa.select(message_outbox.c.idempotency_key, message_outbox.c.state)).all()
    assert {state for _, state in rows} == {"sent"}
    delivered = [r["key"] for r in vendors.vendors.received]
    assert sorted(delivered) == sorted(key for key, _ in rows)          # each once, none lost
    assert len(vendors.vendors.requests) - len(delivered) <= 1          # at most the one in flight went twice


@pytest.mark.postgresql_only
def test_two_schedulers_fanning_out_at_once_write_each_notifications_messages_once(db, clock, engine, reachable):
    """Each scheduler's tick writes the messages of the notifications raised since (outbox.fan_out): one
    that finds another's batch still being written skips it instead of writing it again."""
    from engine.messages import outbox
    preferences.set_my_preferences(engine, "nurse", {"channels": ["sms", "wecom"]})
    with write_transaction(db) as conn:
        for i in range(3):
            notifications.add(conn, kind="reminder", title=f"第{i}条", body="请办理", task_id=f"t-{i}",
                              now=clock.now(), user="nurse")
    with write_transaction(db) as first:
        assert outbox.fan_out(first, clock.now()) == 3
        with write_transaction(db) as second:              # the other scheduler, while the first's is open
            second.exec_driver_sql("SET LOCAL lock_timeout = '3s'")     # waiting for the rows would fail
            assert outbox.fan_out(second, clock.now()) == 0
    with write_transaction(db) as again:                   # and nothing is left for a later tick
        assert outbox.fan_out(again, clock.now()) == 0
    with db.connect() as conn:
        rows = conn.execute(sa.select(message_outbox.c.title, message_outbox.c.channel)).all()
    assert sorted(rows) == sorted((f"第{i}条", c) for i in range(3) for c in ("sms", "wecom"))
