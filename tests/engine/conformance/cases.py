"""The conformance table: one case = a diagram, a driver script, and what is expected of both runs.

Fields: `start` data, `steps` (runners.Complete / Advance / Restart), `status` and a subset of the
final `data` both runs must show, the `path` if it is worth spelling out, `ordered=False` where the
order between branches is not defined (the paths are then compared as multisets). `differs` says
why the engine intentionally behaves otherwise (then `engine` holds what it must show instead);
`library=False` where raw SpiffWorkflow is not run (it would never end). `issue` marks the cases of
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
