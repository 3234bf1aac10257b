"""Boundary timers driven by the injected clock: never early, fired once, indexed by due time."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.db.schema import timer

pytestmark = pytest.mark.both_databases


def _timers(db):
    with db.connect() as conn:
        return sorted((r.element_id, r.due_at) for r in conn.execute(sa.select(timer)))


def test_boundary_timers_are_indexed_with_their_due_times(engine, deploy, db, clock):
    deploy("timers.bpmn")
    start = clock.now()
    engine.start("timers", started_by="alice")
    assert _timers(db) == [("deadline", start + timedelta(hours=1)), ("reminder", start + timedelta(minutes=10))]


def test_non_interrupting_timer_runs_its_path_and_keeps_the_task(engine, deploy, db, clock):
    deploy("timers.bpmn")
    view = engine.start("timers", started_by="alice")
    work = view.tasks[0].id
    clock.advance(timedelta(minutes=9, seconds=59))
    assert engine.fire_due_timers() == 0                      # never early
    clock.advance(timedelta(seconds=2))
    assert engine.fire_due_timers() == 1
    view = engine.show(view.id)
    assert [t.id for t in view.tasks] == [work]             # the user task is still open
    assert [e for e in _types(engine, view.id) if e == "timer_fired"] == ["timer_fired"]
    assert [el for el, _ in _timers(db)] == ["deadline"]
    assert engine.fire_due_timers() == 0                      # fired once, not again
    view = engine.complete_task(work, user="alice")
    assert view.status == "completed" and view.data.get("reminded") is True
    assert _timers(db) == []


def test_interrupting_timer_cancels_the_task_and_escalates(engine, deploy, db, clock):
    deploy("timers.bpmn")
    view = engine.start("timers", started_by="alice")
    work = view.tasks[0].id
    clock.advance(timedelta(hours=2))
    assert engine.fire_due_timers() == 2                      # both timers overdue: one transaction
    view = engine.show(view.id)
    assert [t.element_id for t in view.tasks] == ["escalated"]
    assert engine.task(work).status == "cancelled"
    events = engine.events(view.id)
    fired = [(e["element_id"], e["data"]["due_at"]) for e in events if e["type"] == "timer_fired"]
    start = clock.now() - timedelta(hours=2)
    assert sorted(fired) == [("deadline", (start + timedelta(hours=1)).isoformat()),
                             ("reminder", (start + timedelta(minutes=10)).isoformat())]
    assert all(e["data"]["clock"] == clock.now().isoformat() for e in events if e["type"] == "timer_fired")
    assert _timers(db) == []


def test_a_completed_task_takes_its_timers_with_it(engine, deploy, db, clock):
    deploy("timers.bpmn")
    view = engine.start("timers", started_by="alice")
    engine.complete_task(view.tasks[0].id, user="alice")
    assert _timers(db) == []
    clock.advance(timedelta(days=1))
    assert engine.fire_due_timers() == 0


def _types(engine, iid):
    return [e["type"] for e in engine.events(iid)]


def test_an_event_based_gateway_timer_is_indexed_and_fires(engine, deploy, db, clock):
    deploy("event_gateway.bpmn")
    start = clock.now()
    view = engine.start("ebg", started_by="alice")
    assert _timers(db) == [("gw", start + timedelta(hours=1))]
    clock.advance(timedelta(minutes=59))
    assert engine.fire_due_timers() == 0
    clock.advance(timedelta(minutes=2))
    assert engine.fire_due_timers() == 1
    view = engine.show(view.id)
    assert view.status == "completed" and _timers(db) == []
    assert [e["element_id"] for e in engine.events(view.id) if e["type"] == "timer_fired"] == ["gw"]
