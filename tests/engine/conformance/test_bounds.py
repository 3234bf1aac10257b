"""An operation that never reaches a wait state ends within a bound (engine steps or wall time), with
an incident naming the loop. Run in a subprocess with a timeout, so that a regression (an operation
running forever inside its write transaction) fails this test instead of hanging the suite."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.both_databases

BOUND = 2        # seconds: the operation's wall-time bound in the subprocess (the product's is 10 s)
TIMEOUT = 30     # seconds: the bound plus start-up and deploy, with room for a loaded machine

_SCRIPT = textwrap.dedent("""
    import json, sys
    from engine.bpmn.validation import SourceFile
    from engine.clock import FixedClock, IdSource
    from engine.db.transactions import create_db_engine
    from engine.forms import FormCatalog
    from engine.runtime.services import Engine
    from tests.conftest import START
    url, diagram, forms, bound = sys.argv[1:5]
    engine = Engine(create_db_engine(url), FormCatalog(forms), FixedClock(START), IdSource(seed=1),
                    max_seconds=float(bound))
    engine.deploy([SourceFile("busy_loop.bpmn", open(diagram, "rb").read())], deployed_by="admin")
    view = engine.start("busy_loop", started_by="conformance", data={"n": 1})
    print(json.dumps({"status": view.status, "incidents": [i.element_id for i in view.incidents]}))
""")


def test_a_loop_without_a_wait_state_ends_in_an_incident_within_a_bound(db):
    url = db.url.render_as_string(hide_password=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-c", _SCRIPT, url, str(DATA / "conformance" / "busy_loop.bpmn"),
                               str(DATA / "forms"), str(BOUND)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"start did not return within {TIMEOUT} s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "error"
    assert result["incidents"] and set(result["incidents"]) <= {"b_merge", "b_spin", "b_again"}
