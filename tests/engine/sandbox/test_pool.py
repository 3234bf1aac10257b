"""Hole 5: a hard CPU and memory limit for scripts. One C-level operation (comparing two deeply
shared nested lists: ~25 s at depth 31) passes no trace event, so the trace function cannot stop
it; in a worker process it is stopped at the limit, the worker is replaced, the instance gets an
incident — and the server answers `/healthz` meanwhile."""
from __future__ import annotations

import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from engine.sandbox import ScriptLimits, ScriptTimeout, ScriptTooLarge, SandboxedEnvironment
from engine.sandbox.pool import ScriptPool, needs_worker

DEEP = "x = [0]\ny = [0]\nfor i in range(31):\n    x = [x, x]\n    y = [y, y]\nsame = x == y\n"


@pytest.fixture
def pool():
    p = ScriptPool(size=1, memory_mb=1024, grace_seconds=1.0)
    yield p
    p.close()


def test_a_c_level_overrun_is_stopped_becomes_an_incident_while_the_server_answers(engine, deploy, app, pool):
    engine.script_engine.environment.pool = pool
    deploy("deep_compare.bpmn")
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    outcome: dict = {}
    running = threading.Thread(target=lambda: outcome.update(
        view=engine.start("deep_compare", started_by="alice", data={"depth": 31})))
    try:
        running.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.server_port}/healthz") as health:
            answered = health.status
        assert answered == 200 and running.is_alive()          # answered while the script ran
        running.join()
    finally:
        srv.shutdown()
    view = outcome["view"]
    assert view.status == "error" and view.tasks == []
    [incident] = view.incidents
    assert incident.element_id == "compare" and "time limit" in incident.message
    assert pool.replaced == 1
    # the replaced worker runs the next script as usual
    assert engine.start("deep_compare", started_by="alice", data={"depth": 3}).status == "active"


def test_a_script_in_a_worker_keeps_the_sandbox_semantics(pool):
    env = SandboxedEnvironment({"double": lambda v: v * 2}, ScriptLimits(timeout_seconds=1), pool)
    data = {"a": 2}
    env.execute("b = double(a)\nc = [i for i in range(3)]", data)
    assert data == {"a": 2, "b": 4, "c": [0, 1, 2]}
    assert env.evaluate("[double(i) for i in range(a)]", data) == [0, 2]
    with pytest.raises(ZeroDivisionError) as err:
        env.execute("d = 1\ne = 1 / 0", data)
    assert err.value.script_line == 2 and data["d"] == 1          # the data as it stood, as in-process
    with pytest.raises(ScriptTooLarge):
        env.execute("s = 'x' * 10_000_000", data)
    assert pool.replaced == 0


def test_memory_is_capped_by_the_workers_address_space(pool):
    env = SandboxedEnvironment({}, ScriptLimits(timeout_seconds=20, max_memory_mb=None), pool)
    data: dict = {}
    with pytest.raises((ScriptTooLarge, MemoryError)):       # 4 MB strings until the 1 GB address space ends
        env.execute("s = 'x' * 4_000_000\nxs = []\nfor i in range(400):\n    xs.append(s + str(i))\n", data)
    assert env.evaluate("[i for i in range(2)]", {}) == [0, 1]   # and the pool goes on


def test_only_expressions_that_can_loop_go_to_a_worker():
    assert needs_worker("[x for x in items]") and needs_worker("(y := 2)") and needs_worker("(lambda: 1)()")
    assert not needs_worker("amount > 10000 and not urgent") and not needs_worker("working_days(5)")


def test_a_timeout_names_the_limit(pool):
    env = SandboxedEnvironment({}, ScriptLimits(timeout_seconds=1), pool)
    with pytest.raises(ScriptTimeout, match="time limit of 1 s"):
        env.execute(DEEP, {})
