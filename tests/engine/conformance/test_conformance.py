"""Every case of the conformance table, through raw SpiffWorkflow and through the engine."""
from __future__ import annotations

from collections import Counter

import pytest

from engine.clock import FixedClock, IdSource
from engine.forms import FormCatalog
from engine.runtime.services import Engine
from tests.conftest import START
from tests.engine.conformance.cases import CASES
from tests.engine.conformance.runners import EngineRun, LibraryRun, Outcome

pytestmark = pytest.mark.both_databases


def _library(case):
    run = LibraryRun(case.files, case.process, START)
    run.start(dict(case.start))
    for step in case.steps:
        run.step(step)
    return run.outcome()


def _engine(case, db, forms_dir):
    clock, ids = FixedClock(START), IdSource(seed=7)     # a restarted node keeps drawing fresh ids

    def make_engine():
        return Engine(db, FormCatalog(forms_dir), clock, ids, verify_persistence=True)
    run = EngineRun(case.files, case.process, make_engine, clock)
    if case.deploy_only:
        return run.failure or Outcome("deployed")
    run.start(dict(case.start))
    for step in case.steps:
        run.step(step)
    return run.outcome()


def _same_path(case, a, b) -> bool:
    return a == b if case.ordered else Counter(a) == Counter(b)


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_the_engine_runs_each_construct_as_spiffworkflow_does(case, db, forms_dir):
    lib = _library(case) if case.library else None
    eng = _engine(case, db, forms_dir)
    if lib is not None:
        assert lib.status == (case.library_status or case.status), f"library: {lib.summary()}"
        assert lib.data.items() >= case.data.items(), f"library data {lib.data}"
        if case.path is not None:
            assert _same_path(case, lib.path, list(case.path)), f"library path {lib.path}"
        if case.error_element and lib.status == "error":
            assert lib.error_element == case.error_element, f"library: {lib.summary()}"
    if case.differs:
        expected = case.engine
        assert eng.status == expected.get("status", case.status), f"engine: {eng.summary()}"
        if "element" in expected:
            assert eng.error_element == expected["element"], f"engine: {eng.summary()}"
        return
    # an operation refused with its element named (a 4xx) is as good as an incident
    accepted = {"error", "refused"} if case.status == "error" else {case.status}
    assert eng.status in accepted, f"engine: {eng.summary()}"
    if case.error_element:
        assert eng.error_element == case.error_element, f"engine: {eng.summary()}"
    if lib is not None and case.status != "error":     # a failure is compared by where it is reported
        assert _same_path(case, eng.path, lib.path), f"paths differ:\nengine  {eng.path}\nlibrary {lib.path}"
        assert eng.data == lib.data, f"data differ:\nengine  {eng.data}\nlibrary {lib.data}"
