"""Instance data is what JSON holds: a multi-instance activity's output map is keyed by strings,
whether or not the instance was reloaded between its instances (see engine/bpmn/spiff.py)."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from tests.engine.conformance.runners import DIAGRAMS

pytestmark = pytest.mark.both_databases


def _reviews_done(engine, view):
    for verdict in ("no", "yes"):
        task = engine.show(view.id).tasks[0]
        view = engine.complete_task(task.id, user="jijian", data={"verdict": verdict})
    return view


def test_reviews_written_into_a_map_are_keyed_by_strings_in_memory_and_in_the_database(engine):
    engine.deploy([SourceFile("loops.bpmn", (DIAGRAMS / "loops.bpmn").read_bytes())], deployed_by="admin")
    view = _reviews_done(engine, engine.start("mi_parallel", started_by="jijian",
                                              data={"reviewers": ["ann", "bob"], "reviews": {}}))
    assert view.status == "completed"
    assert sorted(view.data["reviews"]) == ["0", "1"]                 # the cached instance's answer
    assert engine.show(view.id).data["reviews"] == view.data["reviews"]  # the database's
