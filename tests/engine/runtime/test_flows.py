"""BPMN constructs across persistence: call activities, parallel multi-instance, parallel branches, loops."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.schema import instance_task

pytestmark = pytest.mark.both_databases


def test_call_activity_runs_the_called_process_and_returns_its_data(engine, deploy):
    [main, sub] = sorted(deploy("call_activity.bpmn"), key=lambda v: v.process_key)
    assert (main.process_key, sub.process_key) == ("main", "sub")
    view = engine.start("main", started_by="alice")
    [inside] = view.tasks
    assert inside.element_id == "sub_task" and inside.process_key == "main"
    engine.cache.clear()                       # continue from the database alone
    view = engine.complete_task(inside.id, user="alice", data={"answer": 41})
    [after] = view.tasks
    assert after.element_id == "after"
    assert view.data["y"] == 42 and view.data["x"] == 1
    view = engine.complete_task(after.id, user="alice")
    assert view.status == "completed"


def test_a_caller_embeds_the_called_process_as_deployed_at_its_own_deploy(engine, deploy):
    """A call into a separately deployed process resolves at deploy time: later versions of the
    called process do not change callers already deployed."""
    from engine.bpmn.validation import SourceFile
    from tests.conftest import bpmn
    deploy("called_sub.bpmn")
    deploy("caller_main.bpmn")
    changed = bpmn("called_sub.bpmn").replace(b"y = x + answer", b"y = x + answer + 100")
    [sub2] = engine.deploy([SourceFile("called_sub.bpmn", changed)], deployed_by="owner")
    assert (sub2.process_key, sub2.version) == ("sub", 2)
    view = engine.start("main", started_by="alice")
    view = engine.complete_task(view.tasks[0].id, user="alice", data={"answer": 41})
    assert view.data["y"] == 42                  # the caller's version still calls sub v1


def test_parallel_multi_instance_task_collects_every_verdict(engine, deploy):
    deploy("parallel_mi.bpmn")
    view = engine.start("parallel_mi", started_by="alice", data={"reviewers": ["ann", "bob", "cid"], "reviews": {}})
    tasks = view.tasks
    assert len(tasks) == 3 and {t.element_id for t in tasks} == {"review"}
    # complete in reverse order, with a cold load in the middle
    ids = [t.id for t in tasks]
    for n, task_id in enumerate(reversed(ids)):
        if n == 1:
            engine.cache.clear()
        view = engine.complete_task(task_id, user=f"u{n}", data={"verdict": f"ok-{n}"})
    [summary] = view.tasks
    assert summary.element_id == "summary"
    assert sorted(view.data["reviews"].values()) == ["ok-0", "ok-1", "ok-2"]


def test_parallel_branches_join_after_both_complete(engine, deploy):
    deploy("parallel.bpmn")
    view = engine.start("parallel", started_by="alice")
    by_el = {t.element_id: t for t in view.tasks}
    assert set(by_el) == {"task_a", "task_b"}
    assert (by_el["task_a"].candidate_role, by_el["task_b"].candidate_role) == ("LaneA", "LaneB")
    view = engine.complete_task(by_el["task_b"].id, user="b", data={"b": 2})
    assert [t.element_id for t in view.tasks] == ["task_a"]
    engine.cache.clear()
    view = engine.complete_task(by_el["task_a"].id, user="a", data={"a": 1})
    [final] = view.tasks
    assert final.element_id == "final" and view.data["a"] == 1 and view.data["b"] == 2


def test_a_500_pass_loop_completes_without_stalling(engine, deploy, db):
    """W2: SpiffWorkflow's iterator depth cap stops this loop at pass 333; ours completes all 500."""
    engine.verify_persistence = False      # a cold load per step would make this test quadratic
    deploy("w2.bpmn")
    view = engine.start("w2_process", started_by="alice")
    for step in range(500):
        [task] = view.tasks
        if step == 400:
            engine.cache.clear()   # one cold load of a ~1,200-task history on the way
        view = engine.complete_task(task.id, user="alice")
    assert view.status == "completed"
    assert view.data["counter"] == 500
    with db.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(instance_task)).scalar()
    assert n >= 1500


def test_the_end_keeps_the_data_of_branches_that_ended_before_a_restart(engine, deploy):
    """Two branches end (the second closes the first one's wait at the process end), the node restarts
    (nothing cached), the last branch ends: the finished instance still holds every branch's data."""
    deploy("three_ends.bpmn")
    view = engine.start("three_ends", started_by="a")
    tasks = {t.element_id: t.id for t in view.tasks}
    engine.complete_task(tasks["a"], user="a", data={"members": ["jijian"]})
    engine.complete_task(tasks["b"], user="a", data={"linked_clues": 3})
    engine.cache.clear()
    view = engine.complete_task(tasks["c"], user="a", data={"phase": "ended"})
    assert view.status == "completed"
    assert view.data == {"members": ["jijian"], "linked_clues": 3, "phase": "ended"}
