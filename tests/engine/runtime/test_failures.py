"""Whatever a diagram, its data or its scripts do wrong, the engine answers with an incident on the
element concerned or a refusal naming it — never a silent completion, never an escaped exception,
never an operation that runs for ever inside its write transaction (issue 19, items 1–3)."""
from __future__ import annotations

import itertools

import pytest

from engine.bpmn.validation import SourceFile
from engine.clock import IdSource
from engine.errors import Invalid
from engine.forms import FormCatalog
from engine.runtime import replay
from engine.runtime.services import Engine
from tests.conftest import bpmn

pytestmark = pytest.mark.both_databases


def _types(engine, view) -> list[str]:
    return [e["type"] for e in engine.events(view.id)]


def _complete_first(engine, view, data=None):
    [first] = view.tasks
    return engine.complete_task(first.id, user="alice", data=data or {})


def _failed(engine, view, element: str) -> dict:
    """The instance is in error with one open incident on `element`, and was never recorded done."""
    assert view.status == "error", view
    [inc] = view.incidents
    assert inc.element_id == element
    assert engine.show(view.id).status == "error"
    types = _types(engine, view)
    assert "instance_errored" in types and "instance_completed" not in types
    return inc


# -- 1. an engine error with no task in ERROR is never a completion ---------------------------------
def test_a_standard_loop_whose_condition_names_missing_data_ends_in_an_incident(engine, deploy):
    deploy("loop_condition_missing.bpmn")
    view = engine.start("loop_condition_missing", started_by="alice")
    inc = _failed(engine, view, "count")
    assert "finished" in inc.message


def test_a_sequential_multi_instance_without_its_input_collection_ends_in_an_incident(engine, deploy):
    deploy("mi_sequential_missing_input.bpmn")
    view = engine.start("mi_sequential_missing_input", started_by="alice")
    view = _complete_first(engine, view)
    inc = _failed(engine, view, "each")
    assert "input" in inc.message.lower() and "items" in inc.message
    view = engine.retry(view.id, user="operator", data={"items": [1, 2]})
    assert view.status == "active" and [t.element_id for t in view.tasks] == ["after"]
    assert replay.replay(engine, view.id).ok


def test_a_script_that_does_not_set_its_declared_output_ends_in_an_incident_not_done(engine, deploy):
    deploy("data_output_missing.bpmn")
    view = engine.start("data_output_missing", started_by="alice")
    view = _complete_first(engine, view)
    inc = _failed(engine, view, "compute")
    assert "total" in inc.message                         # the declared output it did not set
    view = engine.retry(view.id, user="operator", data={"total": 5})
    assert view.status == "active" and [t.element_id for t in view.tasks] == ["after"]


# -- 2. no exception escapes the engine ----------------------------------------------------------------
def test_iterating_a_missing_parallel_loop_input_is_an_incident_on_the_multi_instance(engine, deploy):
    deploy("mi_parallel_missing_input.bpmn")
    view = engine.start("mi_parallel_missing_input", started_by="alice")
    view = _complete_first(engine, view)
    inc = _failed(engine, view, "each")
    assert "TypeError" in inc.message


def test_a_missing_loop_input_right_after_the_start_is_an_incident_not_a_lost_instance(engine, deploy):
    deploy("mi_at_start_missing_input.bpmn")
    view = engine.start("mi_at_start_missing_input", started_by="alice", data={"items": None})
    inc = _failed(engine, view, "each")
    assert "TypeError" in inc.message
    view = engine.retry(view.id, user="operator", data={"items": ["a", "b"]})
    assert view.status == "active" and view.data["results"] == ["a", "b"]
    assert replay.replay(engine, view.id).ok           # the failure and the retry replay alike


def test_a_due_date_inside_a_called_process_is_checked_though_the_caller_has_none(engine, deploy):
    # the due-date check is skipped for a process with no `dueIn` anywhere: a called process's count
    deploy("due_fails_called.bpmn")
    view = engine.start("due_fails_caller", started_by="alice")
    [register] = view.tasks
    view = engine.complete_task(register.id, user="alice", data={})
    inc = _failed(engine, view, "reply")
    assert "letter_sent_on" in inc.message
    view = engine.retry(view.id, user="operator", data={"letter_sent_on": "2026-10-09"})
    [task] = view.tasks
    assert task.element_id == "reply" and task.due_at is not None


def test_a_correlation_expression_naming_missing_data_is_an_incident_on_the_throw_event(engine, deploy):
    deploy("correlation_name_error.bpmn")
    view = engine.start("correlation_name_error", started_by="alice", data={"amount": 3})
    view = _complete_first(engine, view)
    inc = _failed(engine, view, "send")
    assert "order_id" in inc.message


def test_a_failing_post_script_of_a_user_task_is_an_incident_and_a_retry_gives_the_task_back(engine, deploy):
    deploy("post_script_fails.bpmn")
    view = engine.start("post_script_fails", started_by="alice", data={"amount": 6})
    [review] = view.tasks
    view = engine.complete_task(review.id, user="alice", data={"parts": 0})
    inc = _failed(engine, view, "review")
    assert "ZeroDivisionError" in inc.message and engine.task(review.id).status == "cancelled"
    view = engine.retry(view.id, user="operator", data={"parts": 2})
    assert [(t.id, t.status) for t in view.tasks] == [(review.id, "open")]   # its inbox row, again
    view = engine.complete_task(review.id, user="alice", data={})
    assert [t.element_id for t in view.tasks] == ["after"] and view.data["share"] == 3
    assert replay.replay(engine, view.id).ok


def test_a_user_task_that_must_write_a_data_object_it_was_not_given_is_refused_with_its_name(engine, deploy):
    deploy("data_object_unset.bpmn")
    view = engine.start("data_object_unset", started_by="alice")
    with pytest.raises(Invalid) as refused:
        _complete_first(engine, view)
    [problem] = refused.value.problems
    assert (problem.element_id, problem.field) == ("write", "report_obj")
    assert engine.show(view.id).tasks[0].element_id == "write"       # nothing was written
    assert _types(engine, view) == ["instance_started", "task_ready"]
    view = _complete_first(engine, engine.show(view.id), {"report_obj": "all clear"})
    assert [t.element_id for t in view.tasks] == ["after"]


# -- 3. every operation is bounded -----------------------------------------------------------------------
@pytest.fixture
def bounded(db, forms_dir, clock):
    """An engine with tight bounds, deploying the named test diagrams."""
    def _make(*names, **limits):
        engine = Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=5), verify_persistence=True, **limits)
        engine.deploy([SourceFile(n, bpmn(n)) for n in names], deployed_by="admin")
        return engine
    return _make


def test_a_script_gateway_script_loop_without_a_wait_state_stops_at_the_step_bound(bounded):
    engine = bounded("busy_loop.bpmn", max_steps=40)
    view = engine.start("busy_loop", started_by="alice", data={"limit": 10**9})
    assert view.status == "error"
    [inc] = view.incidents
    assert "40 engine steps" in inc.message
    assert all(element in inc.message for element in ("bump", "more", "note"))
    assert 0 < view.data["n"] < 40
    assert replay.replay(engine, view.id).ok           # the replay stops at the same bound


def test_an_operation_stops_at_the_wall_time_bound_on_the_injected_clock(bounded):
    ticks = itertools.count()                  # one second passes at every look at the clock
    engine = bounded("busy_loop.bpmn", max_seconds=5, monotonic=lambda: float(next(ticks)))
    view = engine.start("busy_loop", started_by="alice", data={"limit": 10**9})
    [inc] = view.incidents
    assert "5 s" in inc.message and "bump" in inc.message


def test_a_loop_that_ends_within_the_bound_runs_to_its_wait_state(bounded):
    engine = bounded("busy_loop.bpmn", max_steps=40)
    view = engine.start("busy_loop", started_by="alice", data={"limit": 5})
    assert view.status == "active" and view.data["n"] == 5


def test_a_call_activity_recursing_for_ever_at_run_time_ends_with_an_incident_naming_it(bounded):
    engine = bounded("recurses_when_asked.bpmn", max_steps=60)
    view = engine.start("recurses_when_asked", started_by="alice", data={"depth": 3, "forever": True})
    assert view.status == "error"
    [inc] = view.incidents
    assert "again" in inc.message and "60 engine steps" in inc.message


def test_a_due_date_that_cannot_be_computed_at_start_is_an_incident_on_the_task(engine, deploy):
    # issue 20, item 9: the start answered 500; the instance must exist, in error, the task named
    deploy("due_fails.bpmn")
    view = engine.start("due_fails", started_by="alice")
    inc = _failed(engine, view, "reply")
    assert "letter_sent_on" in inc.message
    # the office records the letter's date and retries: the task reaches the inbox with its due date
    view = engine.retry(view.id, user="operator", data={"letter_sent_on": "2026-10-09"})
    assert view.status == "active" and not view.incidents
    [task] = view.tasks
    assert task.element_id == "reply" and task.due_at is not None
    assert replay.replay(engine, view.id).ok           # the failure and the retry replay alike
