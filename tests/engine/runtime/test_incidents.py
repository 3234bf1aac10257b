"""Failures never stall silently: an incident names the task, message and script line; retry resumes."""
from __future__ import annotations

import pytest

from engine.errors import TaskNotReady

pytestmark = pytest.mark.both_databases


def test_a_failing_script_puts_the_instance_in_error_with_an_incident(engine, deploy):
    deploy("failing.bpmn")
    view = engine.start("failing", started_by="alice", data={"amount": 5, "divisor": 0})
    assert view.status == "error" and view.tasks == []
    [inc] = view.incidents
    assert inc.element_id == "calc" and inc.script_line == 2
    assert "division by zero" in inc.message
    assert [i.instance_id for i in engine.incidents()] == [view.id]
    assert "instance_errored" in [e["type"] for e in engine.events(view.id)]


def test_retry_with_corrected_data_resumes_and_resolves_the_incident(engine, deploy):
    deploy("failing.bpmn")
    view = engine.start("failing", started_by="alice", data={"amount": 5, "divisor": 0})
    engine.cache.clear()
    view = engine.retry(view.id, user="operator", data={"divisor": 2})
    assert view.status == "active" and view.incidents == []
    [check] = view.tasks
    assert check.element_id == "check" and view.data["share"] == 5
    assert engine.incidents() == []
    [resolved] = engine.incidents(open_only=False)
    assert resolved.resolved_by == "operator"
    types = [e["type"] for e in engine.events(view.id)]
    assert types.index("instance_errored") < types.index("instance_retried")
    assert engine.complete_task(check.id, user="alice").status == "completed"


def test_retry_without_a_fix_fails_again_and_keeps_one_open_incident(engine, deploy):
    deploy("failing.bpmn")
    view = engine.start("failing", started_by="alice", data={"amount": 5, "divisor": 0})
    view = engine.retry(view.id, user="operator")
    assert view.status == "error" and len(view.incidents) == 1


def test_retry_of_a_healthy_instance_is_refused(engine, deploy):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    with pytest.raises(TaskNotReady, match="no failed task"):
        engine.retry(view.id, user="operator")


def test_a_sandbox_escape_is_stopped_and_reported(engine, deploy):
    deploy("escape.bpmn")
    view = engine.start("escape", started_by="alice")
    assert view.status == "error"
    [inc] = view.incidents
    assert inc.element_id == "evil"
    assert "__class__" in inc.message or "not allowed" in inc.message.lower()
    assert "leak" not in view.data


def test_a_runaway_loop_is_stopped_with_a_clear_incident(db, forms_dir, clock, deploy_with_limits):
    engine = deploy_with_limits("runaway.bpmn")
    view = engine.start("runaway", started_by="alice")
    assert view.status == "error"
    [inc] = view.incidents
    assert inc.element_id == "evil"
    assert "time" in inc.message.lower() and "limit" in inc.message.lower()


@pytest.fixture
def deploy_with_limits(db, forms_dir, clock):
    from engine.clock import IdSource
    from engine.forms import FormCatalog
    from engine.runtime.services import Engine
    from engine.sandbox import ScriptLimits
    from engine.bpmn.validation import SourceFile
    from tests.conftest import bpmn

    def _make(name):
        engine = Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=1),
                        script_limits=ScriptLimits(timeout_seconds=0.3), verify_persistence=True)
        engine.deploy([SourceFile(name, bpmn(name))], deployed_by="admin")
        return engine
    return _make
