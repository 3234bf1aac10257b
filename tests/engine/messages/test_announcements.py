"""New tasks, urges (催办) and results reach people where they are: each goes through the outbox to the
person's chosen channels, deep-linked to the page that needs them; a confidential process's messages
say only "您有一项待办"; a new task stays off the bell (the inbox lists it), a result is on it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from engine.db.schema import message_outbox
from engine.deadlines import notifications
from engine.inbox import urging
from engine.messages import sender
from engine.org.people import signed_in as who      # the person, as a request's session names them
from tests.helpers.flows import claimed_review

pytestmark = pytest.mark.both_databases


def _outbox(db, **where):
    """The messages, once the scheduler's tick has written those of the notifications raised so far."""
    sender.fan_out(db, datetime.now(timezone.utc))
    m = message_outbox.c
    with db.connect() as conn:
        q = sa.select(message_outbox).order_by(m.id)
        for k, v in where.items():
            q = q.where(getattr(m, k) == v)
        return conn.execute(q).all()



def test_a_new_task_reaches_its_candidates_channels_linked_to_the_task_and_stays_off_the_bell(
        engine, deploy, db, reachable):
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="jijian", data={"department": "neike"})
    task_id = view.tasks[0].id
    rows = _outbox(db, notification_id=_outbox(db)[0].notification_id)
    assert {(r.username, r.channel) for r in rows} >= {("nurse", "wecom"), ("neike_head", "wecom")}
    assert "surgeon" not in {r.username for r in rows}                      # another department's staff
    assert all(r.link == f"/tasks/{task_id}" and r.title == "新待办：书面回复函询" for r in rows)
    assert "年" in rows[0].body and "前办理" in rows[0].body               # its due date, as read in China
    assert notifications.for_user(db, "nurse", ["staff"], "neike") == []


def test_a_task_sent_back_reaches_its_earlier_performer_but_a_withdrawn_one_does_not_message_oneself(
        engine, deploy, db, reachable):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse")
    view = engine.complete_task(view.tasks[0].id, user="nurse", data={})
    review = view.tasks[0]
    view = engine.complete_task(review.id, user="neike_head", data={})
    before = len(_outbox(db, username="neike_head"))
    engine.send_back(view.tasks[0].id, user="jijian", reason="依据不充分")
    [back] = _outbox(db, username="neike_head")[before:]
    assert back.title == "新待办：科室审核" and back.link == f"/tasks/{review.id}"
    view = engine.complete_task(review.id, user="neike_head", data={})
    before = len(_outbox(db))
    engine.withdraw(review.id, user="neike_head")
    assert _outbox(db)[before:] == []


def test_an_urge_reaches_the_holders_channels_with_the_urgers_message(engine, deploy, db, reachable):
    deploy("send_back.bpmn")
    review = claimed_review(engine, "send_back", "nurse")
    urging.urge(engine, who(engine, "jijian"), review.id, "今天下班前请审核")
    [row] = _outbox(db, username="neike_head", title="催办：科室审核")
    assert "今天下班前请审核" in row.body and row.link == f"/tasks/{review.id}" and row.channel == "wecom"


def test_a_confidential_process_says_only_that_there_is_a_task_in_every_message(engine, deploy, db, reachable):
    deploy("approval_rules.bpmn")
    review = claimed_review(engine, "approval_rules", "jijian")
    urging.urge(engine, who(engine, "jijian"), review.id, "某某主任收受回扣一案请尽快审核")
    engine.complete_task(review.id, user="neike_head", data={})          # the end, told to its starter
    rows = _outbox(db)
    assert {r.username for r in rows} == {"neike_head", "jijian"}
    assert all(r.title == r.body == "您有一项待办" for r in rows)


def test_the_result_reaches_the_starter_on_the_bell_and_channels_linked_to_their_started_page(
        engine, deploy, db, reachable):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse", business_key="2026-031")
    for user in ("nurse", "neike_head", "jijian", "jijian"):
        view = engine.complete_task(view.tasks[0].id, user=user, data={})
    assert view.status == "completed"
    [row] = _outbox(db, username="nurse", channel="wecom", title="已办结：处置意见审批")
    assert row.body == "你发起的「处置意见审批」（2026-031）已办结。" and row.link == f"/started/{view.id}"
    assert [n["title"] for n in notifications.for_user(db, "nurse", ["staff"], "neike")] == ["已办结：处置意见审批"]
