"""退回 (send back) on W2 at step 500 against a normal completion at the same step.

The instance is taken to its 500th user task (1,500 tasks of history); then, in pairs, the task is
sent back to the previous step (reset to step 499, the previous step's performer gets it again) and
that step is completed again (a normal completion at the same depth). Target: a send-back costs at
most 3× the completion. `python -m bench.approval_bench` prints the figures for SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

PAIRS = 15


def send_back_w2(engine, pairs: int = PAIRS) -> dict:
    view = engine.start("w2_process", started_by="bench")
    for _ in range(499):
        view = engine.complete_task(view.tasks[0].id, user="bench")
    assert view.data["counter"] == 499
    back_ms, complete_ms = [], []
    for _ in range(pairs):
        t0 = time.perf_counter()
        view = engine.send_back(view.tasks[0].id, user="approver", reason="bench")
        back_ms.append((time.perf_counter() - t0) * 1000)
        assert view.data["counter"] == 498
        t0 = time.perf_counter()
        view = engine.complete_task(view.tasks[0].id, user="bench")
        complete_ms.append((time.perf_counter() - t0) * 1000)
        assert view.data["counter"] == 499
    back, complete = statistics.median(back_ms), statistics.median(complete_ms)
    return {"send_back_ms": round(back, 2), "completion_ms": round(complete, 2),
            "ratio": round(back / complete, 2), "target": "<= 3", "pairs": pairs}


def main() -> None:
    from bench.engine_bench import PG_URL, _ensure_pg_database, _fresh_engine
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in (("sqlite", f"sqlite:///{Path(tmp) / 'approval.db'}"), ("postgresql", PG_URL)):
            if name == "postgresql":
                _ensure_pg_database(url)
            engine = _fresh_engine(url)
            report[name] = send_back_w2(engine)
            engine.db.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
