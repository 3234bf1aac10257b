"""The outbox: messages written from their notification, sent by the scheduler to each person's
channels, deep-linked to the task; confidential processes say only "您有一项待办"; quiet hours wait,
escalations do not; WeCom's per-person limit is a queue; failures are retried, then shown to admins."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine.db.schema import message_outbox
from engine.db.transactions import write_transaction
from engine.deadlines import notifications
from engine.messages import preferences, sender as sending
from engine.messages.sender import Sender
from engine.messages.sms import Sms
from engine.messages.wecom import WeCom

pytestmark = pytest.mark.both_databases


def _sender(vendors, **kw) -> Sender:
    conf = vendors.settings()
    return Sender({"wecom": WeCom.from_settings({**conf["wecom"], **kw}), "sms": Sms.from_settings(conf["sms"])},
                  "https://lianjie.hospital.test", owner="test-sender")


def _notify(db, clock, **kw):
    args = {"kind": "reminder", "title": "任务即将到期：书面回复函询", "body": "请及时办理。", "task_id": "task-1",
            "instance_id": None, **kw}
    with write_transaction(db) as conn:
        notifications.add(conn, now=clock.now(), **args)


def _outbox(db):
    sending.fan_out(db, datetime.now(timezone.utc))      # what the scheduler's tick writes first
    with db.connect() as conn:
        return conn.execute(sa.select(message_outbox).order_by(message_outbox.c.id)).all()


def test_a_reminder_reaches_the_role_on_wecom_with_a_deep_link_to_the_task(engine, deploy, clock, reachable, vendors):
    engine.messenger = _sender(vendors)
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    task_id = view.tasks[0].id
    clock.set(view.tasks[0].remind_at)
    engine.sweep_deadlines()
    engine.sweep_deadlines()
    got = {(r["to"], r["url"]) for r in vendors.vendors.received}
    assert got == {("wx-nurse", f"https://lianjie.hospital.test/tasks/{task_id}"),
                   ("wx-head", f"https://lianjie.hospital.test/tasks/{task_id}")}
    assert all("书面回复函询" in r["title"] for r in vendors.vendors.received)
    assert any(r["title"].startswith("任务即将到期") for r in vendors.vendors.received)
    # nurse2's WeCom account is gone: given up (the new task's message and the reminder), visible to
    # admins, nobody else affected
    page = sending.problems_page(engine)
    assert {(r["username"], r["state"]) for r in page["rows"]} == {("nurse2", "failed")}


def test_a_confidential_process_says_only_that_there_is_a_task(db, clock, reachable, vendors):
    _notify(db, clock, user="jijian", title="任务已逾期：某某科主任收受回扣线索初核", body="线索内容……",
            confidential=True)
    _sender(vendors).send_due(db, clock)
    [received] = vendors.vendors.received
    assert received["title"] == "您有一项待办" and received["body"] == "您有一项待办"
    assert "回扣" not in str(vendors.vendors.requests)


def test_quiet_hours_hold_a_reminder_until_morning_but_not_an_escalation(db, clock, reachable, vendors, engine):
    preferences.set_my_preferences(engine, "nurse", {"channels": ["wecom"], "quiet_start": "22:00",
                                                     "quiet_end": "07:30"})
    clock.set(datetime.fromisoformat("2026-09-28T23:10:00+08:00"))
    _notify(db, clock, user="nurse")
    _notify(db, clock, user="nurse", kind="escalation", title="任务已逾期：书面回复函询", body="请督促办理。")
    _sender(vendors).send_due(db, clock)
    assert [r["title"] for r in vendors.vendors.received] == ["任务已逾期：书面回复函询"]
    clock.set(datetime.fromisoformat("2026-09-29T07:30:00+08:00"))
    _sender(vendors).send_due(db, clock)
    assert [r["title"] for r in vendors.vendors.received] == ["任务已逾期：书面回复函询", "任务即将到期：书面回复函询"]


def test_a_person_who_chose_sms_gets_sms_only(db, clock, reachable, vendors, engine):
    preferences.set_my_preferences(engine, "nurse", {"channels": ["sms"]})
    _notify(db, clock, user="nurse")
    _sender(vendors).send_due(db, clock)
    assert [(r["channel"], r["to"]) for r in vendors.vendors.received] == [("sms", "13800000001")]


def test_wecom_per_person_limit_queues_the_rest_for_the_next_minute(db, clock, reachable, vendors):
    for i in range(5):
        _notify(db, clock, user="nurse", title=f"第{i}条", task_id=f"task-{i}")
    _sender(vendors, per_minute=3).send_due(db, clock)
    assert len(vendors.vendors.received) == 3
    clock.set(clock.now() + timedelta(seconds=59))
    _sender(vendors, per_minute=3).send_due(db, clock)
    assert len(vendors.vendors.received) == 3
    clock.set(clock.now() + timedelta(seconds=2))
    _sender(vendors, per_minute=3).send_due(db, clock)
    assert [r["title"] for r in vendors.vendors.received] == [f"第{i}条" for i in range(5)]
    assert all(r.attempts == 1 for r in _outbox(db) if r.channel == "wecom")   # waiting was no failed attempt


def test_an_unreachable_vendor_is_retried_with_backoff_then_shown_as_failed(db, clock, reachable, vendors, engine):
    conf = dict(vendors.settings()["wecom"], api="http://127.0.0.1:9/cgi-bin")   # nothing listens on port 9
    sender = Sender({"wecom": WeCom.from_settings(conf)}, "https://lianjie.hospital.test", owner="s")
    _notify(db, clock, user="nurse", title="第一条")
    waits = []
    for _ in range(8):
        sender.send_due(db, clock)
        [row] = [r for r in _outbox(db) if r.channel == "wecom"]
        waits.append(row.next_attempt_at - clock.now())
        clock.set(row.next_attempt_at)
    assert row.state == "failed" and row.attempts == 8
    assert waits[:4] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert sending.problems_page(engine)["rows"][0]["state"] == "failed"
    sending.retry_failed(engine, row.id, by="admin")
    _sender(vendors).send_due(db, clock)
    assert [r["title"] for r in vendors.vendors.received] == ["第一条"]


def test_a_rolled_back_completion_sends_nothing(db, clock, reachable, vendors):
    with pytest.raises(RuntimeError):
        with write_transaction(db) as conn:
            notifications.add(conn, kind="reminder", title="t", body="b", now=clock.now(), user="nurse")
            raise RuntimeError("the completion failed")
    assert _outbox(db) == []
