"""The conformance table: one case = a diagram, a driver script, and what is expected of both runs.

Fields: `start` data, `steps` (runners.Complete / Advance / Restart), `status` and a subset of the
final `data` both runs must show, the `path` if it is worth spelling out, `ordered=False` where the
order between branches is not defined (the paths are then compared as multisets). `differs` says
why the engine intentionally behaves otherwise (then `engine` holds what it must show instead);
`library=False` where raw SpiffWorkflow is not run and `deploy_only` where the engine only deploys
(either would never end). `issue` marks the cases of
issue 19 items 1-3 that fail on today's engine: they carry a strict xfail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from tests.engine.conformance.runners import Advance, Complete, Restart


@dataclass(frozen=True)
class Case:
    id: str
    file: str
    process: str
    start: dict = field(default_factory=dict)
    steps: tuple = ()
    status: str = "completed"
    data: dict = field(default_factory=dict)
    path: tuple | None = None
    ordered: bool = True
    error_element: str | None = None       # where both runs must report the failure
    library_status: str | None = None      # the raw library's status when it is not `status`
    differs: str | None = None             # why the engine intentionally differs
    engine: dict = field(default_factory=dict)   # with `differs`: status / element the engine must show
    library: bool = True
    issue: str | None = None               # "issue 19 item N: <what>": strict xfail until fixed
    extra_files: tuple = ()
    deploy_only: bool = False              # only deploy it (starting it could never end)

    @property
    def files(self) -> tuple[str, ...]:
        return (self.file, *self.extra_files)

    def param(self):
        marks = [pytest.mark.xfail(strict=True, reason=self.issue)] if self.issue else []
        return pytest.param(self, id=self.id, marks=marks)


HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

CASES = [
    # -- gateways ----------------------------------------------------------------------------------
    Case("exclusive_condition", "gateways.bpmn", "exclusive", steps=(Complete("ask", {"amount": 500}),),
         data={"size": "big"}, path=("start", "ask", "route", "big", "merge", "end")),
    Case("exclusive_default", "gateways.bpmn", "exclusive",
         steps=(Restart(), Complete("ask", {"amount": 5}), Restart()),
         data={"size": "small"}, path=("start", "ask", "route", "small", "merge", "end")),
    Case("exclusive_no_match_is_an_error", "gateways.bpmn", "exclusive_no_default", start={"kind": "c"},
         status="error", error_element="nd_route"),
    Case("inclusive_two_branches", "gateways.bpmn", "inclusive", start={"wanted": ["a", "b"]},
         steps=(Restart(), Complete("task_a", {"a_done": True})),
         data={"a_done": True, "b_done": True}, ordered=False),
    Case("inclusive_default", "gateways.bpmn", "inclusive", start={"wanted": []},
         data={"c_done": True}, path=("i_start", "i_split", "task_c", "i_join", "i_end")),
    Case("parallel_join_after_restart", "gateways.bpmn", "parallel",
         steps=(Complete("finance", {"finance_ok": True}), Restart(), Complete("legal", {"legal_ok": False})),
         data={"both": False, "legal_ok": False, "finance_ok": True}, ordered=False),
    Case("event_gateway_signal_first", "gateways.bpmn", "event_gateway",
         steps=(Advance(30 * MINUTE), Complete("decide")), data={"outcome": "signal"}, ordered=False),
    Case("event_gateway_timer_first", "gateways.bpmn", "event_gateway",
         steps=(Advance(59 * MINUTE), Restart(), Advance(2 * MINUTE), Complete("decide")),
         data={"outcome": "timeout"}, ordered=False),
]

CASES += [
    # -- timers ------------------------------------------------------------------------------------
    Case("boundary_timer_non_interrupting", "timers.bpmn", "boundary_timers",
         steps=(Advance(9 * MINUTE), Advance(2 * MINUTE), Restart(), Complete("work", {"done": True})),
         data={"reminded": True, "done": True}),
    Case("boundary_timer_interrupting", "timers.bpmn", "boundary_timers",
         steps=(Advance(2 * HOUR), Complete("escalated", {"handled": True})),
         data={"reminded": True, "handled": True}),
    Case("boundary_timers_gone_with_their_task", "timers.bpmn", "boundary_timers",
         steps=(Complete("work"), Advance(2 * HOUR)), path=("start", "work", "end_done")),
    Case("intermediate_timers_duration_then_date", "timers.bpmn", "intermediate_timers", start={"wait": "PT2H"},
         steps=(Advance(HOUR), Restart(), Advance(HOUR + MINUTE), Advance(3 * HOUR)),
         data={"first": True, "second": True}),
    Case("intermediate_timer_not_yet_due", "timers.bpmn", "intermediate_timers", start={"wait": "PT2H"},
         steps=(Advance(HOUR + 59 * MINUTE),), status="active", path=("t_start",)),
    Case("cycle_timer_fires_twice", "timers.bpmn", "cycle_timer", start={"nags": 0},
         steps=(Advance(11 * MINUTE), Restart(), Advance(10 * MINUTE), Advance(HOUR), Complete("c_work")),
         path=("c_start", "c_work", "c_end", "c_nag", "c_count", "c_nagged", "c_count", "c_nagged")),
    # -- messages, signals, escalation, errors, event subprocesses --------------------------------
    Case("message_within_an_instance", "events.bpmn", "message_in_process",
         steps=(Restart(), Complete("order", {"order_id": 7})), data={"got": 7}),
    # observed in SpiffWorkflow 3.2: a signal end event does not reach a boundary event of the same
    # instance (an intermediate catch does, see event_gateway_signal_first); the engine does the same
    Case("signal_end_event_does_not_reach_a_boundary", "events.bpmn", "signal_boundary",
         steps=(Complete("s_manager"),), status="active", path=("s_start", "s_split", "s_manager", "s_broadcast")),
    Case("signal_not_thrown_leaves_the_task", "events.bpmn", "signal_boundary",
         steps=(Complete("s_work", {"w": 1}), Restart(), Complete("s_manager")), data={"w": 1}),
    Case("escalation_caught_non_interrupting", "events.bpmn", "escalation",
         steps=(Complete("x_check", {"amount": 5000}),), data={"escalated": True, "amount": 5000}),
    Case("escalation_not_raised", "events.bpmn", "escalation",
         steps=(Complete("x_check", {"amount": 50}),), path=("x_start", "x_sub", "x_sub_start", "x_check", "x_gw",
                                                             "x_sub_end", "x_end")),
    Case("error_end_event_caught_by_a_boundary", "events.bpmn", "error_boundary", start={"exists": False},
         steps=(Complete("r_handle", {"handled": True}),), data={"handled": True}),
    Case("error_end_event_not_reached", "events.bpmn", "error_boundary", start={"exists": True},
         data={"found": True}),
    Case("event_subprocess_non_interrupting_timer", "events.bpmn", "event_subprocess",
         steps=(Advance(45 * MINUTE), Restart(), Complete("v_work", {"w": 1})), status="active",
         path=("v_start", "v_work", "v_end", "v_watch", "v_tick", "v_note", "v_watch_end")),
    Case("event_subprocess_interrupting_timer", "events.bpmn", "event_subprocess",
         steps=(Advance(31 * MINUTE), Advance(2 * HOUR)), status="active",
         path=("v_start", "v_watch", "v_tick", "v_note", "v_watch_end", "v_abort", "v_cancelled", "v_cleanup",
               "v_abort_end")),
]

CASES += [
    # -- call activities, loops, multi-instance ------------------------------------------------------
    Case("call_activities_nested_two_deep", "calls.bpmn", "call_top", start={"x": 1},
         steps=(Restart(), Complete("leaf_task", {"answer": 41})), data={"x": 1, "answer": 41, "y": 42}),
    Case("error_end_event_in_a_called_process", "calls.bpmn", "call_error",
         steps=(Complete("cf_review", {"reason": "no"}),), data={"handled": True}),
    Case("standard_loop_while_condition", "loops.bpmn", "std_loop", start={"count": 0, "seen": []},
         data={"count": 3, "seen": [1, 2, 3]}, ordered=False),
    Case("standard_loop_maximum", "loops.bpmn", "max_loop", start={"ok": False},
         steps=(Complete("retry", {"tries": 1}), Restart(), Complete("retry", {"tries": 2})), data={"tries": 2}, ordered=False),
    Case("standard_loop_ended_by_condition", "loops.bpmn", "max_loop", start={"ok": False},
         steps=(Complete("retry", {"ok": True}),), data={"ok": True}, ordered=False),
    Case("parallel_multi_instance_input_collection", "loops.bpmn", "mi_parallel",
         start={"reviewers": ["ann", "bob", "cid"]},
         steps=(Complete("review", lambda d: {"verdict": d["reviewer"] + "-ok"}, where={"reviewer": "cid"}),
                Restart(),
                Complete("review", lambda d: {"verdict": d["reviewer"] + "-no"}, where={"reviewer": "ann"}),
                Complete("review", lambda d: {"verdict": d["reviewer"] + "-ok"}, where={"reviewer": "bob"})),
         data={"reviews": ["cid-ok", "ann-no", "bob-ok"]}, ordered=False),     # output in completion order
    Case("parallel_multi_instance_output_dict", "loops.bpmn", "mi_parallel",
         start={"reviewers": ["ann", "bob"], "reviews": {}},
         steps=(Complete("review", {"verdict": "no"}, where={"reviewer": "bob"}),
                Complete("review", {"verdict": "yes"}, where={"reviewer": "ann"})),
         data={"reviews": {"0": "yes", "1": "no"}}, ordered=False),
    Case("parallel_multi_instance_output_dict_across_a_restart", "loops.bpmn", "mi_parallel",
         start={"reviewers": ["ann", "bob"], "reviews": {}},
         steps=(Complete("review", {"verdict": "no"}, where={"reviewer": "bob"}), Restart(),
                Complete("review", {"verdict": "yes"}, where={"reviewer": "ann"})),
         # SpiffWorkflow keys the output by index (an int); a JSON round trip makes the first key a
         # string, so the raw library ends with mixed keys {'1': ..., 0: ...}. The engine writes the key
         # as JSON holds it, a string, whether or not the instance was reloaded (engine/bpmn/spiff.py).
         data={"reviews": {"1": "no", "0": "yes"}}, ordered=False),
    Case("sequential_multi_instance_cardinality", "loops.bpmn", "mi_cardinality", start={"n": 4},
         data={"squares": [0, 1, 4, 9]}, ordered=False),
    Case("sequential_multi_instance_input_collection", "loops.bpmn", "mi_sequential",
         start={"signers": ["head", "office"]},
         steps=(Complete("sign", lambda d: {"signature": d["signer"].upper()}), Restart(),
                Complete("sign", lambda d: {"signature": d["signer"].upper()})),
         data={"signatures": ["HEAD", "OFFICE"]}, ordered=False),
    Case("multi_instance_completion_condition", "loops.bpmn", "mi_completion",     # the first "yes" ends it
         start={"voters": ["a", "b", "c", "d"], "votes": {}},
         steps=(Restart(), Complete("vote", {"ballot": "no"}, where={"voter": "c"}),
                Complete("vote", {"ballot": "yes"}, where={"voter": "a"})),
         data={"votes": {"2": "no", "0": "yes"}}, ordered=False),
    # -- data --------------------------------------------------------------------------------------
    Case("data_object_written_and_read", "data.bpmn", "data_objects",
         steps=(Complete("d_enter", {"price": 120, "quantity": 2}), Restart(), Complete("d_confirm")),
         data={"with_tax": 264}),
    Case("io_specification_copies_inputs_in_and_outputs_out", "data.bpmn", "io_specification",
         start={"x": 1, "other": True}, steps=(Restart(), Complete("o_check")), data={"y": 2}),
    # -- transactions ------------------------------------------------------------------------------
    Case("transaction_completes", "data.bpmn", "transaction",
         steps=(Complete("book", {"cancel": False}),), path=("tx_start", "tx", "tx_in", "book", "tx_gw", "tx_out",
                                                            "tx_end")),
    Case("transaction_cancel_end_event", "data.bpmn", "transaction",
         steps=(Restart(), Complete("book", {"cancel": True})), data={"undone": True}),
]

# The failures below were issue 19's items 1-3 (a library error recorded as a completion, an exception
# escaping the engine, an operation without a bound): each is now an incident on its element or a
# located refusal at deploy.
CASES += [
    # -- failures: the same error behaviour --------------------------------------------------------
    Case("script_error_is_an_incident", "failures.bpmn", "script_error", start={"amount": 5, "divisor": 0},
         status="error", error_element="divide"),
    Case("loop_condition_on_missing_data", "failures.bpmn", "loop_condition_fails",
         status="error", library_status="raised", error_element="bad_loop"),
    Case("sequential_multi_instance_without_its_collection", "failures.bpmn", "mi_missing_collection",
         status="error", library_status="raised", error_element="each_item"),
    Case("parallel_multi_instance_without_its_collection_at_start", "failures.bpmn", "mi_missing_input_at_start",
         status="error", library_status="raised", error_element="ask_each"),
    Case("missing_data_output_of_a_user_task", "failures.bpmn", "missing_data_output",
         steps=(Complete("approve", {"comment": "forgot"}),),
         status="error", library_status="raised", error_element="approve"),
    Case("multi_instance_without_an_output_item", "failures.bpmn", "mi_without_output_item",
         start={"sources": ["a", "b"]}, steps=(Complete("collect", {"x": 1}, where={"source": "a"}), Restart(),
                                               Complete("collect", {"x": 2}, where={"source": "b"})),
         data={"collected": []}, ordered=False),    # SpiffWorkflow collects nothing, and does not complain
    Case("reading_a_data_object_never_written", "failures.bpmn", "unset_data_object",
         steps=(Complete("u_first"),), data={"final": None}),     # SpiffWorkflow reads it as None
    Case("writing_a_data_object_the_script_did_not_set", "failures.bpmn", "data_object_not_set",
         steps=(Complete("w_first"),), status="error", library_status="raised", error_element="w_write"),
    # -- a call activity that would never end: refused at deploy --------------------------------------------------------------------
    Case("call_activity_calling_its_own_process", "self_call.bpmn", "self_call", status="refused",
         error_element="sc_again", library=False, deploy_only=True),
    Case("call_activities_calling_each_other", "mutual_call.bpmn", "ping", status="refused",
         library=False, deploy_only=True),
    # busy_loop.bpmn: see test_bounds.py (it must run in a subprocess with a timeout)
    # -- where the engine intentionally differs ------------------------------------------------------
    Case("script_with_an_import", "differs.bpmn", "import_in_script", start={"value": [1]},
         data={"encoded": "[1]"},
         differs="sandboxed scripts: no import (helpers are provided instead); refused at deploy, with the line",
         engine={"status": "refused", "element": "encode"}),
    Case("lane_that_is_not_a_role", "lanes.bpmn", "free_lanes", steps=(Complete("la_review"),),
         differs="lanes are roles: a lane must name a role (or map to one) so the inbox can offer the task",
         engine={"status": "refused", "element": "lane_x"}),
    Case("user_task_with_an_unknown_form", "forms.bpmn", "unknown_form", steps=(Complete("fo_fill"),),
         differs="forms: a formKey must name a form of the catalog, checked at deploy",
         engine={"status": "refused", "element": "fo_fill"}),
]

CASES += [
    # -- other events and task kinds -----------------------------------------------------------------
    Case("terminate_end_event_ends_every_branch", "other_events.bpmn", "terminate",
         steps=(Complete("te_stop", {"why": "stop"}),), path=("te_start", "te_split", "te_stop", "te_kill")),
    # observed in SpiffWorkflow 3.2: the path ends at the link throw event, the catch never runs
    Case("link_events_and_a_plain_task", "other_events.bpmn", "links_and_plain_tasks",
         steps=(Restart(), Complete("lk_note")), path=("lk_start", "lk_note", "lk_go")),
    # observed: the condition sees only its own branch's data, so another branch cannot satisfy it
    Case("conditional_event_does_not_see_another_branch", "other_events.bpmn", "conditional",
         start={"amount": 0}, steps=(Restart(), Complete("co_prepare", {"amount": 50})), status="active",
         path=("co_start", "co_split", "co_prepare")),
]
