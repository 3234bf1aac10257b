"""Deterministic replay: an instance re-executed from its recorded inputs reaches every recorded state
— through timers, call activities, multi-instance tasks, incidents and retries, and service tasks
that start child instances — and a history that was rewritten (with a consistent hash chain) is
caught at the first event that no longer follows from the inputs."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.runtime import replay
from engine.db.schema import event, process_instance
from tests.helpers.triggers import without_triggers

pytestmark = pytest.mark.both_databases


def _ok(engine, iid):
    result = replay.replay(engine, iid)
    assert result.ok, result.divergence
    assert result.events == len(engine.events(iid)) and result.operations >= 1
    return result


def test_user_tasks_claims_and_a_boundary_timer_replay_to_the_same_states(engine, deploy, clock):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice", data={"amount": 3})
    clock.advance(timedelta(minutes=5))
    view = engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    engine.claim(view.tasks[0].id, user="bob")
    clock.advance(timedelta(hours=1))
    engine.complete_task(view.tasks[0].id, user="bob", data={"comment": "同意"})
    result = _ok(engine, view.id)
    assert result.operations == 4


def test_timers_fired_by_the_scheduler_replay_at_their_recorded_clock(engine, deploy, clock):
    deploy("timers.bpmn")
    view = engine.start("timers", started_by="alice")
    clock.advance(timedelta(minutes=11))
    assert engine.fire_due_timers() == 1
    clock.advance(timedelta(hours=1))
    assert engine.fire_due_timers() == 1       # the interrupting deadline: the task is cancelled
    _ok(engine, view.id)
    gw = engine.start("timers", started_by="alice")
    engine.complete_task(gw.tasks[0].id, user="alice")
    _ok(engine, gw.id)


def test_event_gateway_call_activity_and_multi_instance_replay(engine, deploy, clock):
    deploy("event_gateway.bpmn")
    deploy("call_activity.bpmn")
    deploy("parallel_mi.bpmn")
    ebg = engine.start("ebg", started_by="alice")
    clock.advance(timedelta(hours=2))
    engine.fire_due_timers()
    main = engine.start("main", started_by="alice")
    view = engine.complete_task(main.tasks[0].id, user="alice", data={"answer": 41})
    engine.complete_task(view.tasks[0].id, user="alice")
    mi = engine.start("parallel_mi", started_by="alice", data={"reviewers": ["ann", "bob", "cid"], "reviews": {}})
    for n, task in enumerate(reversed(mi.tasks)):     # out of order, as people do
        view = engine.complete_task(task.id, user=f"u{n}", data={"verdict": f"ok-{n}"})
    for iid in (ebg.id, main.id, mi.id):
        _ok(engine, iid)


def test_an_incident_and_its_retry_replay(engine, deploy):
    deploy("failing.bpmn")
    view = engine.start("failing", started_by="alice", data={"amount": 5, "divisor": 0})
    engine.retry(view.id, user="operator")                      # fails again
    engine.retry(view.id, user="operator", data={"divisor": 2})
    _ok(engine, view.id)


def test_a_campaign_like_parent_replays_without_starting_its_children_again(engine, deploy, db):
    deploy("spawner.bpmn")
    view = engine.start("spawner", started_by="jijian", business_key="2026 专项整治",
                        data={"departments": ["neike", "waike"], "deadline": "2026-09-30", "child_process": "dept_work"})
    with db.connect() as conn:
        children = conn.execute(sa.select(process_instance.c.id).where(process_instance.c.parent_id == view.id)).scalars().all()
    for cid in children:
        engine.complete_task(engine.show(cid).tasks[0].id, user="someone")
    engine.complete_task(view.tasks[0].id, user="jijian")
    with db.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar()
    _ok(engine, view.id)
    for cid in children:
        _ok(engine, cid)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar() == before


def _rewrite(db, iid, change):
    """Change one event's data and recompute the whole chain, as a careful forger would."""
    from engine.history import GENESIS, event_hash
    with without_triggers(db) as conn:
        rows = conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all()
        prev = GENESIS
        for r in rows:
            data_json = change(r) or r.data_json
            h = event_hash(prev, r.chain, r.seq, r.type, r.at, r.actor, r.task_id, r.element_id, data_json)
            conn.execute(event.update().where(event.c.id == r.id).values(data_json=data_json, prev_hash=prev, hash=h))
            prev = h
        conn.execute(process_instance.update().where(process_instance.c.id == iid).values(event_head=prev))


def test_a_forged_input_is_named_at_the_first_event_that_no_longer_follows(engine, deploy, db):
    from engine.audit import verify as audit
    deploy("parallel_mi.bpmn")
    mi = engine.start("parallel_mi", started_by="alice", data={"reviewers": ["ann", "bob"], "reviews": {}})
    for task in mi.tasks:
        view = engine.complete_task(task.id, user="ann", data={"verdict": "ok"})
    engine.complete_task(view.tasks[0].id, user="ann")
    forged_seq = [e["seq"] for e in engine.events(mi.id) if e["type"] == "instance_started"][0]

    def change(r):
        if r.seq == forged_seq:
            data = json.loads(r.data_json)
            data["data"]["reviewers"] = ["ann"]          # "there was only one reviewer"
            return json.dumps(data, ensure_ascii=False)
    _rewrite(db, mi.id, change)
    assert audit.verify(db, mi.id)[1] == []             # the chain alone cannot tell ...
    result = replay.replay(engine, mi.id)                 # ... the replay can
    assert not result.ok
    assert (result.divergence.seq, result.divergence.type) == (forged_seq, "instance_started")
    assert "state it led to differs" in result.divergence.reason
    assert result.divergence.expected["active"] == ["review", "review"]      # two reviewers were asked
    assert result.divergence.found["active"] == ["review"]                   # the forged input asks one

