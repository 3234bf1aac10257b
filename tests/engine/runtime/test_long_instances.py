"""A long loop stays as cheap per pass as a short one (issue 23, target 3: measured by `make bench`):
while an operation runs the engine, SpiffWorkflow walks the task tree from a recent ancestor of the
frontier, not from the root. Nothing of the history is lost for it: every pass is in the task rows
and the chain, a cold load equals the live instance after each write (the engine fixture checks it),
a send back reaches the previous pass, and the audit replay reproduces every step."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.schema import event, instance_task
from engine.runtime import store
from engine.runtime.replay import replay

pytestmark = [pytest.mark.both_databases, pytest.mark.slow]

PASSES = 3 * store.KEEP        # far beyond the ancestors the engine walks


def _loop(engine, passes: int):
    view = engine.start("w2_process", started_by="nurse")
    for _ in range(passes):
        view = engine.complete_task(view.tasks[0].id, user="nurse")
    return view


def test_every_pass_of_a_long_loop_is_kept_and_replayed(engine, deploy, db):
    deploy("w2.bpmn")
    view = _loop(engine, PASSES)
    assert view.data["counter"] == PASSES and view.status == "active"
    live = engine.uow.cache.take(view.id)
    assert live is not None and store._iteration_root(live.wf) is not None   # walked from a recent ancestor
    engine.uow.cache.put(live)
    with db.connect() as conn:
        steps = conn.execute(sa.select(sa.func.count()).where(
            instance_task.c.instance_id == view.id, instance_task.c.spec_name == "step")).scalar()
        completed = conn.execute(sa.select(sa.func.count()).where(
            event.c.chain == view.id, event.c.type == "task_completed")).scalar()
    assert steps == PASSES + 1 and completed == PASSES
    result = replay(engine, view.id)
    assert result.ok, str(result.divergence)


def test_a_long_loop_runs_to_its_end_after_a_send_back(engine, deploy):
    deploy("w2.bpmn")
    view = _loop(engine, PASSES)
    view = engine.send_back(view.tasks[0].id, user="nurse", reason="再核一遍")
    assert view.data["counter"] == PASSES - 1
    view = engine.complete_task(view.tasks[0].id, user="nurse")
    assert view.data["counter"] == PASSES
    result = replay(engine, view.id)
    assert result.ok, str(result.divergence)
