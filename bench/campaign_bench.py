"""`make bench`, the campaign case: completing one department's task must not cost more in a campaign
over 200 departments than over 10 (target: at most 1.5×), because each department's work runs in
its own small instance and no instance grows with the number of departments."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

import sqlalchemy as sa

from engine.org import people as org
from engine import bootstrap as services
from engine.config import PROJECT_ROOT
from engine.db.transactions import read_transaction, write_transaction
from engine.db.schema import human_task
from engine.deadlines.workdays import BEIJING

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


def _open(engine, element: str, codes: list[str]) -> list:
    with read_transaction(engine.db) as conn:
        rows = conn.execute(sa.select(human_task.c.id, human_task.c.candidate_department).where(
            human_task.c.status == "open", human_task.c.element_id == element,
            human_task.c.candidate_department.in_(codes)).order_by(human_task.c.candidate_department)).all()
    first = {}
    for r in rows:                      # one task per department
        first.setdefault(r.candidate_department, r)
    return list(first.values())


def _timed(engine, task, data: dict) -> float:
    t0 = time.perf_counter()
    engine.complete_task(task.id, user=f"{task.candidate_department}_head", data=data)
    return (time.perf_counter() - t0) * 1000


def run(fresh_engine, urls: dict[str, str], small: int = 10, large: int = 200) -> dict:
    """Two campaigns in one database, over `small` and over `large` departments; their department
    tasks are completed alternately (so the machine's noise falls on both alike): each department's
    mobilization meeting (which also lists its staff and opens their talks), then one talk."""
    report = {}
    for name, url in urls.items():
        engine = fresh_engine(url)
        services.deploy_directory(engine, PROJECT_ROOT / "processes", deployed_by="bench")
        codes = _hospital(engine, small + large)
        groups = {"small": codes[:small], "large": codes[small:]}
        launch_ms = {}
        for key, group in groups.items():
            t0 = time.perf_counter()
            _launch(engine, group)
            launch_ms[key] = round((time.perf_counter() - t0) * 1000, 1)
        today = engine.clock.now().astimezone(BEIJING).date().isoformat()
        costs = {"small": [], "large": []}
        for element, data in (("meeting", {"meeting_date": today, "attendance": 2}), ("talk", {"talk_date": today})):
            small_tasks = _open(engine, element, groups["small"])
            step = max(1, len(groups["large"]) // len(small_tasks))
            large_tasks = _open(engine, element, groups["large"][::step])
            for a, b in zip(small_tasks, large_tasks):
                costs["small"].append(_timed(engine, a, data))
                costs["large"].append(_timed(engine, b, data))
        engine.db.dispose()
        medians = {k: round(statistics.median(v), 3) for k, v in costs.items()}
        ratio = round(medians["large"] / medians["small"], 2)
        report[name] = {
            f"over_{small}": {"launch_ms": launch_ms["small"], "complete_ms_median": medians["small"],
                              "samples": len(costs["small"])},
            f"over_{large}": {"launch_ms": launch_ms["large"], "complete_ms_median": medians["large"],
                              "samples": len(costs["large"])},
            "ratio": ratio, "target": f"<= {TARGET}", "met": ratio <= TARGET}
    return report
