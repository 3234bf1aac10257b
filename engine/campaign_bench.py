"""`make bench`, the campaign case: completing one department's task must not cost more in a campaign
over 200 departments than over 10 (target: at most 1.5×), because each department's work runs in
its own small instance and no instance grows with the number of departments."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

from . import org, services
from .config import PROJECT_ROOT
from .db import read_transaction, write_transaction
from .schema import human_task
from .workdays import BEIJING

TARGET = 1.5


def _hospital(engine, n: int) -> list[str]:
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        org.save_department(conn, {"code": "office", "name_zh": "纪检监察室", "category": "administrative"}, now)
        org.save_staff(conn, {"username": "office", "name": "纪检", "department": "office",
                              "roles": ["staff", "discipline_office"]}, now)
        codes = []
        for i in range(n):
            code = f"d{i:03d}"
            org.save_department(conn, {"code": code, "name_zh": f"科室{i:03d}", "category": "clinical"}, now)
            org.save_staff(conn, {"username": f"{code}_head", "name": f"主任{i}", "department": code,
                                  "roles": ["staff", "department_head"]}, now)
            org.save_staff(conn, {"username": f"{code}_1", "name": f"职工{i}", "department": code,
                                  "roles": ["staff"]}, now)
            org.save_department(conn, {"code": code, "name_zh": f"科室{i:03d}", "category": "clinical",
                                       "head": f"{code}_head"}, now)
            codes.append(code)
    return codes


def _launch(engine, codes: list[str]) -> str:
    today = engine.clock.now().astimezone(BEIJING).date()
    day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
    return engine.start("campaign", started_by="office", business_key=f"bench-{len(codes)}", data={
        "name": "bench", "doc_no": f"bench-{len(codes)}", "departments": codes,
        "mobilization_deadline": day(20), "selfcheck_deadline": day(40), "rectification_deadline": day(100),
        "consolidation_deadline": day(160), "disclosure_deadline": day(39), "report_day": 20}).id


def one_size(fresh_engine, url: str, n: int, samples: int) -> dict:
    """Launch a campaign over n departments, then time `samples` department task completions
    (a mobilization meeting each: it also lists the department's staff and opens their talks)."""
    engine = fresh_engine(url)
    services.deploy_directory(engine, PROJECT_ROOT / "processes", deployed_by="bench")
    codes = _hospital(engine, n)
    t0 = time.perf_counter()
    _launch(engine, codes)
    launch_ms = (time.perf_counter() - t0) * 1000
    with read_transaction(engine.db) as conn:
        tasks = conn.execute(sa.select(human_task.c.id, human_task.c.candidate_department).where(
            human_task.c.status == "open", human_task.c.element_id == "meeting")
            .order_by(human_task.c.candidate_department)).all()
    step = max(1, len(tasks) // samples)
    costs = []
    for task in tasks[::step][:samples]:
        t0 = time.perf_counter()
        engine.complete_task(task.id, user=f"{task.candidate_department}_head",
                             data={"meeting_date": engine.clock.now().astimezone(BEIJING).date().isoformat(),
                                   "attendance": 2})
        costs.append((time.perf_counter() - t0) * 1000)
    engine.db.dispose()
    return {"departments": n, "launch_ms": round(launch_ms, 1), "complete_ms_median": round(statistics.median(costs), 3),
            "samples": len(costs)}


def run(fresh_engine, urls: dict[str, str], small: int = 10, large: int = 200, samples: int = 10) -> dict:
    report = {}
    for name, url in urls.items():
        a, b = one_size(fresh_engine, url, small, samples), one_size(fresh_engine, url, large, samples)
        ratio = round(b["complete_ms_median"] / a["complete_ms_median"], 2)
        report[name] = {f"over_{small}": a, f"over_{large}": b, "ratio": ratio, "target": f"<= {TARGET}",
                        "met": ratio <= TARGET}
    return report
