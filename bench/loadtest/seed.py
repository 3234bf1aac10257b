"""Seed a load-test database through the engine's own code paths: departments and staff through
`org`, open tasks as real `load_task` instances started with `Engine.start` (several processes in
parallel), API tokens through `accounts.issue_token`. Nothing is inserted behind the engine's back,
so every seeded instance loads, completes and verifies like any other."""
from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass

from engine.org import accounts, people as org, roles
from engine import bootstrap as services
from engine.config import PROJECT_ROOT, Settings
from engine.db.transactions import write_transaction
from engine.bpmn.validation import SourceFile

WORKLOADS = PROJECT_ROOT / "bench" / "workloads"
PASSWORD = "load-test-2026"


@dataclass
class Plan:
    departments: int = 200
    users: int = 2000
    open_tasks: int = 100_000
    processes: int = 2

    def department(self, i: int) -> str:
        return f"d{i % self.departments:03d}"

    def user(self, i: int) -> str:
        return f"u{i:04d}"


def _settings(url: str) -> Settings:
    return Settings.from_env({"DATABASE_URL": url})


def organisation(url: str, plan: Plan) -> dict:
    """Departments, staff (every one `staff`; the first of each department also starts instances) and tokens."""
    engine = services.init_db(_settings(url))
    engine.deploy([SourceFile(p.name, p.read_bytes()) for p in
                   (WORKLOADS / "load_task.bpmn", WORKLOADS / "load_timer.bpmn")], deployed_by="loadtest")
    now = engine.clock.now()
    password_hash = accounts.hash_password(PASSWORD)          # one hash for everyone: argon2 is slow on purpose
    tokens = {}
    with write_transaction(engine.db) as conn:
        roles.ensure_builtin_roles(conn)
        for d in range(plan.departments):
            org.save_department(conn, {"code": plan.department(d), "name_zh": f"负载科室{d:03d}",
                                       "category": "clinical"}, now)
        for i in range(plan.users):
            starter = i < plan.departments
            org.save_staff(conn, {"username": plan.user(i), "name": f"测试{i:04d}", "department": plan.department(i),
                                  "roles": ["staff", "discipline_office"] if starter else ["staff"]},
                           now, password_hash=password_hash)
            tokens[plan.user(i)] = accounts.issue_token(conn, plan.user(i), now)[0]
    engine.db.dispose()
    return tokens


def _start_some(args) -> int:
    url, plan, first, count = args
    engine = services.open_engine(_settings(url))
    for n in range(first, first + count):
        engine.start("load_task", started_by="u0000", business_key=f"load-{n}",
                     data={"department": plan.department(n)})
    engine.db.dispose()
    return count


def open_tasks(url: str, plan: Plan, progress=None) -> float:
    """Start `plan.open_tasks` instances, each waiting at one department task; returns seconds taken."""
    began = time.perf_counter()
    chunk = 500
    jobs = [(url, plan, first, min(chunk, plan.open_tasks - first)) for first in range(0, plan.open_tasks, chunk)]
    done = 0
    with multiprocessing.get_context("spawn").Pool(plan.processes) as pool:
        for n in pool.imap_unordered(_start_some, jobs):
            done += n
            if progress is not None:
                progress(done, plan.open_tasks)
    return time.perf_counter() - began
