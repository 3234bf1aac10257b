"""The runtime's read API for other rooms: an instance's data and its tasks' data, now or as they stood
at a moment (a report's cut-off), without knowing how the runtime stores them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.runtime.queries import instance_data, task_data

pytestmark = pytest.mark.both_databases


def _complete(engine, clock, view, name, data):
    clock.advance(timedelta(hours=1))
    task = next(t for t in engine.show(view.id).tasks if t.name == name)
    return engine.complete_task(task.id, user="alice", data=data)


def test_instance_data_now_and_as_it_stood_at_each_cut_off(engine, deploy, clock, db):
    deploy("parallel.bpmn")
    start = clock.now()
    view = engine.start("parallel", started_by="alice", data={"x": 1})
    other = engine.start("parallel", started_by="alice", data={"y": 2})
    _complete(engine, clock, view, "Task A", {"a": 1})                      # start + 1h
    with db.connect() as conn:
        # now: what the running instance's open tasks hold (as `show` says; Task A's branch joins later)
        assert instance_data(conn, [view.id, other.id]) == {view.id: engine.show(view.id).data, other.id: {"y": 2}}
    _complete(engine, clock, view, "Task B", {"b": 2})                      # start + 2h
    done = _complete(engine, clock, view, "Final", {"f": 3})                # start + 3h
    assert done.status == "completed"
    with db.connect() as conn:
        assert instance_data(conn, [view.id, "no-such-id"]) == {view.id: {"x": 1, "a": 1, "b": 2, "f": 3}}
        at = {h: instance_data(conn, [view.id], until=start + timedelta(hours=h, minutes=30))[view.id]
              for h in (0, 1, 2, 3)}
        assert at == {0: {"x": 1}, 1: {"x": 1, "a": 1}, 2: {"x": 1, "a": 1, "b": 2},
                      3: {"x": 1, "a": 1, "b": 2, "f": 3}}
        assert instance_data(conn, [view.id], until=start - timedelta(seconds=1)) == {}


def test_task_data_of_chosen_elements_now_and_until_their_completion(engine, deploy, clock, db):
    deploy("parallel.bpmn")
    start = clock.now()
    view = engine.start("parallel", started_by="alice", data={"x": 1})
    _complete(engine, clock, view, "Task A", {"a": 1})
    with db.connect() as conn:
        [a] = task_data(conn, [view.id], ["task_a"])
        assert (a.instance_id, a.spec_name, a.data) == (view.id, "task_a", {"x": 1, "a": 1})
        assert [t.spec_name for t in task_data(conn, [view.id], ["task_a", "task_b"])] == ["task_a", "task_b"]
        assert task_data(conn, [view.id], ["task_a"], until=start + timedelta(minutes=30)) == []
        assert task_data(conn, [view.id], ["task_a"], until=start + timedelta(hours=2)) == [a]
        assert task_data(conn, [], ["task_a"]) == []
