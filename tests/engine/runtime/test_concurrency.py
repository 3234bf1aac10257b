"""Races between two real connections, interleaved deterministically.

One completion is held just before its commit while the other runs. Each engine below is a
separate "node" with its own connection pool and cache, like two app servers on one database.
"""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from engine.audit import verify as audit
from engine.runtime import instances
from engine.runtime.persist import persist
from engine.runtime.unit_of_work import lock_instance
from engine.clock import IdSource
from engine.errors import Conflict, ConcurrentUpdate, TaskAlreadyCompleted
from engine.forms import FormCatalog
from engine.runtime.services import Engine
from engine.db.schema import event, human_task, process_instance
from tests.conftest import DATA

pytestmark = pytest.mark.both_databases


def _node(db, clock, forms_dir, seed):
    return Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=seed), verify_persistence=True)


class Held:
    """Runs one engine call in a thread and stops it just before its commit until released."""

    def __init__(self, node, call):
        self.reached = threading.Event()
        self.release = threading.Event()
        self.result = self.error = None
        node.before_commit = self._hold
        self.thread = threading.Thread(target=self._run, args=(call,))

    def _hold(self, _iid):
        self.reached.set()
        assert self.release.wait(30)

    def _run(self, call):
        try:
            self.result = call()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def __enter__(self):
        self.thread.start()
        assert self.reached.wait(30), "the first transaction never reached its commit"
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(30)
        return False


def _in_thread(call):
    box = {}
    def run():
        try:
            box["result"] = call()
        except Exception as exc:  # noqa: BLE001
            box["error"] = exc
    t = threading.Thread(target=run)
    t.start()
    return t, box


def test_two_completions_of_one_task_commit_exactly_once(db, clock, forms_dir, deploy):
    deploy("w1.bpmn")
    a, b = _node(db, clock, forms_dir, 1), _node(db, clock, forms_dir, 2)
    task_id = a.start("w1_process", started_by="alice").tasks[0].id
    b.show  # node b knows nothing of the instance yet: it will load it from the database
    with Held(a, lambda: a.complete_task(task_id, user="alice", data={"approved": True})) as held:
        t, box = _in_thread(lambda: b.complete_task(task_id, user="bob", data={"approved": False}))
        time.sleep(0.3)            # b is now waiting for the instance lock held by a
        assert t.is_alive(), "the second completion did not wait for the first"
    t.join(30)
    assert held.error is None and held.result.tasks[0].element_id == "review"
    assert isinstance(box.get("error"), TaskAlreadyCompleted) and isinstance(box["error"], Conflict)
    _assert_consistent(db, task_id, completed_by="alice", completions=1)


def test_completions_of_two_tasks_of_one_instance_are_serialised_not_lost(db, clock, forms_dir, deploy):
    deploy("parallel.bpmn")
    a, b = _node(db, clock, forms_dir, 1), _node(db, clock, forms_dir, 2)
    view = a.start("parallel", started_by="alice")
    by_el = {t.element_id: t.id for t in view.tasks}
    with Held(a, lambda: a.complete_task(by_el["task_a"], user="ann", data={"a": 1})) as held:
        t, box = _in_thread(lambda: b.complete_task(by_el["task_b"], user="bob", data={"b": 2}))
        time.sleep(0.3)
        assert t.is_alive(), "the second completion did not wait for the first"
    t.join(30)
    assert held.error is None and "error" not in box
    final = box["result"]
    assert [x.element_id for x in final.tasks] == ["final"]
    assert final.data["a"] == 1 and final.data["b"] == 2            # neither update was lost
    with db.connect() as conn:
        rev = conn.execute(sa.select(process_instance.c.revision)).scalar()
    assert rev == 3                                                  # start + two completions
    assert audit.verify(db)[1] == []


@pytest.mark.parametrize("final", [False, True], ids=["in_a_transaction", "statement_alone"])
def test_a_stale_writer_gets_a_conflict_and_writes_nothing(db, clock, forms_dir, deploy, engine, final):
    """The revision check behind the lock: a writer whose snapshot is stale is refused — also when
    its write is the whole transaction (on PostgreSQL one statement, its guard checked inside)."""
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    from engine.db.transactions import write_transaction
    with write_transaction(db) as conn:
        row = lock_instance(conn, view.id)
        stale = instances.load(conn, row, engine.registry.load(conn, row.process_version_id), engine.script_engine)
    engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    before = _snapshot(db)
    task = stale.wf.get_task_from_id(__import__("uuid").UUID(view.tasks[0].id))
    task.data.update({"approved": False})
    task.run()
    stale.wf.do_engine_steps()
    with pytest.raises(ConcurrentUpdate):
        with write_transaction(db) as conn:
            persist(conn, stale, instances.StepOutcome(clock.now(), "mallory"), engine.policy, final=final)
    assert _snapshot(db) == before


def test_a_start_on_a_version_another_node_replaced_lands_on_the_new_one(db, clock, forms_dir, deploy):
    """A node starts on the latest version it knows, checked in the same write: when another node
    deployed a later one meanwhile, that write changes nothing and the start is made on the new one."""
    from engine.bpmn.validation import SourceFile
    a, b = _node(db, clock, forms_dir, 1), _node(db, clock, forms_dir, 2)
    deploy("w1.bpmn")
    assert a.start("w1_process", started_by="alice").version == 1      # a now knows version 1
    changed = (DATA / "bpmn" / "w1.bpmn").read_bytes().replace(b'name="Review"', b'name="Review again"')
    b.deploy([SourceFile("w1.bpmn", changed)], deployed_by="bob")
    before = _snapshot(db)
    view = a.start("w1_process", started_by="alice")
    assert view.version == 2
    after = _snapshot(db)
    assert len(after["process_instance"]) == len(before["process_instance"]) + 1
    assert len(after["human_task"]) == len(before["human_task"]) + 1
    assert audit.verify(db)[1] == []


def _snapshot(db):
    with db.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t)).all())) for t in (process_instance, human_task, event)}


def _assert_consistent(db, task_id, completed_by, completions):
    with db.connect() as conn:
        row = conn.execute(sa.select(human_task).where(human_task.c.id == task_id)).one()
        n = conn.execute(sa.select(sa.func.count()).select_from(event).where(
            event.c.type == "task_completed", event.c.task_id == task_id)).scalar()
    assert row.status == "completed" and row.completed_by == completed_by
    assert n == completions
    assert audit.verify(db)[1] == []
