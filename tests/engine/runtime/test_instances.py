"""Starting instances and moving their human tasks: start, claim, unclaim, complete."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.errors import Invalid, NotFound, TaskAlreadyCompleted, TaskClaimedByOther, TaskNotReady
from engine.db.schema import event, human_task, instance_task, process_instance

pytestmark = pytest.mark.both_databases


def test_start_runs_to_the_first_user_task_and_indexes_it(engine, deploy):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice", business_key="W1-001", data={"amount": 3})
    assert view.status == "active"
    assert view.version == 1 and view.business_key == "W1-001"
    [task] = view.tasks
    assert (task.element_id, task.name, task.lane, task.candidate_role) == ("fill", "Fill", "LaneA", "LaneA")
    assert task.status == "open" and task.assignee is None and task.priority == 3
    assert view.data == {"amount": 3}
    assert [t.id for t in engine.list_tasks()] == [task.id]


def test_completing_tasks_follows_the_gateway_to_the_end(engine, deploy):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    view = engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    [review] = view.tasks
    assert review.element_id == "review" and review.candidate_role == "LaneB"
    assert [w["element_id"] for w in view.waiting] == ["review_timer"]
    view = engine.complete_task(review.id, user="bob", data={"comment": "ok"})
    assert view.status == "completed" and view.ended_at is not None
    assert view.tasks == [] and view.waiting == []
    assert view.data == {"approved": True, "comment": "ok"}
    done = engine.list_tasks(status="completed")
    assert sorted((t.element_id, t.completed_by) for t in done) == [("fill", "alice"), ("review", "bob")]


def test_rejected_path_ends_without_review(engine, deploy):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    view = engine.complete_task(view.tasks[0].id, user="alice", data={"approved": False})
    assert view.status == "completed" and view.tasks == []


def test_claim_blocks_others_and_unclaim_releases(engine, deploy):
    deploy("w1.bpmn")
    task_id = engine.start("w1_process", started_by="alice").tasks[0].id
    claimed = engine.claim(task_id, user="alice")
    assert claimed.assignee == "alice" and claimed.claimed_at is not None
    with pytest.raises(TaskClaimedByOther):
        engine.claim(task_id, user="bob")
    with pytest.raises(TaskClaimedByOther):
        engine.complete_task(task_id, user="bob", data={"approved": True})
    with pytest.raises(TaskClaimedByOther):
        engine.unclaim(task_id, user="bob")
    assert engine.unclaim(task_id, user="alice").assignee is None
    view = engine.complete_task(task_id, user="bob", data={"approved": False})
    assert view.status == "completed"


def test_completing_twice_names_who_completed_it(engine, deploy):
    deploy("w1.bpmn")
    task_id = engine.start("w1_process", started_by="alice").tasks[0].id
    engine.complete_task(task_id, user="alice", data={"approved": True})
    with pytest.raises(TaskAlreadyCompleted, match="already completed by alice"):
        engine.complete_task(task_id, user="bob", data={"approved": True})


def test_a_task_cancelled_by_a_timer_cannot_be_completed(engine, deploy, clock):
    from datetime import timedelta
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    view = engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    review_id = view.tasks[0].id
    clock.advance(timedelta(hours=72, seconds=1))
    assert engine.fire_due_timers() == 1
    with pytest.raises(TaskNotReady, match="cancelled"):
        engine.complete_task(review_id, user="bob")


def test_unknown_ids_and_bad_data_are_refused_without_change(engine, deploy, db):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    task_id = view.tasks[0].id
    with pytest.raises(NotFound):
        engine.complete_task("00000000-0000-4000-8000-000000000000", user="alice")
    with pytest.raises(NotFound, match="not a valid id"):
        engine.complete_task("nope", user="alice")
    with pytest.raises(NotFound):
        engine.start("no_such_process", started_by="alice")
    with pytest.raises(NotFound, match="version 9"):
        engine.start("w1_process", started_by="alice", version=9)
    before = _counts(db)
    with pytest.raises(Invalid) as err:
        engine.complete_task(task_id, user="alice", data={"__class__": 1, "ok": 2})
    assert err.value.problems[0].field == "data.__class__"
    with pytest.raises(Invalid):
        engine.complete_task(task_id, user="alice", data=[1, 2])
    assert _counts(db) == before
    assert engine.task(task_id).status == "open"


def test_persistence_is_incremental_and_skips_predicted_tasks(engine, deploy, db):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    with db.connect() as conn:
        states = [r.state for r in conn.execute(sa.select(instance_task.c.state))]
    from SpiffWorkflow.util.task import TaskState
    assert states and all(not s & (TaskState.PREDICTED_MASK | TaskState.FUTURE) for s in states)
    before = _counts(db)
    engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    after = _counts(db)
    # fill completed, gateway, boundary split, review + timer: a handful of task rows, not the tree
    assert 0 < after["instance_task"] - before["instance_task"] <= 6


def test_instances_survive_a_cold_start(engine, deploy, db, clock, forms_dir):
    """A second engine (another node, or a restart) continues from the database alone."""
    from engine.clock import IdSource
    from engine.forms import FormCatalog
    from engine.runtime.services import Engine
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    other = Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=99), cache_size=0, verify_persistence=True)
    view = other.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    view = engine.complete_task(view.tasks[0].id, user="bob")   # engine's cache is stale: must reload
    assert view.status == "completed"


def _counts(db) -> dict:
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (process_instance, instance_task, human_task, event)}
