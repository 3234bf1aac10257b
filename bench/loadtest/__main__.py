"""`python -m bench.loadtest` (`make loadtest`): seed, start 2 app nodes and 2 schedulers on one
PostgreSQL, run the phases, kill -9 a node and a scheduler during the mixed phase and restart them,
check exactly-once and the audit chains, write the figures to JSON and print the counts."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine.config import PROJECT_ROOT
from engine.db.transactions import create_db_engine
from engine.db.schema import human_task
from bench.loadtest import checks, seed
from bench.loadtest.cluster import Cluster
from bench.loadtest.driver import MIXES, Balancer, Ledger, Phase, VirtualUser, run_paced, run_phase

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qinglian_load"


def _say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def task_pools(db, plan: seed.Plan, n: int) -> tuple[list[list[int]], dict[str, list[str]]]:
    """Every department's open load tasks, dealt to `n` virtual users (department k to user k mod n):
    a user completes each task as a member of its department, so no two users race for one task and
    a run does not run dry. Returns each user's department numbers, and the open tasks by department."""
    by_department: dict[str, list[str]] = {}
    with db.connect() as conn:
        rows = conn.execute(sa.select(human_task.c.candidate_department, human_task.c.id)
                            .where(human_task.c.status == "open", human_task.c.process_key == "load_task"))
        for dept, task_id in rows:
            by_department.setdefault(dept, []).append(task_id)
    return [list(range(i, plan.departments, n)) for i in range(n)], by_department


async def drive(cluster: Cluster, plan: seed.Plan, tokens: dict, db, args) -> tuple[list[Phase], Ledger]:
    balancer = Balancer([n.url for n in cluster.app_nodes])
    ledger = Ledger()
    # one virtual user per department (users plan.departments + k are plain staff of department k):
    # each completes its own department's tasks, so no two users race for one task
    dealt, open_tasks = task_pools(db, plan, args.concurrency)
    picked = [plan.user(plan.departments + depts[0]) for depts in dealt]
    # each user its own session (its own cookie jar; `unsafe`: the nodes are addressed by IP)
    clients = [aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in picked]
    try:
        users = []
        for depts, username, client in zip(dealt, picked, clients):
            # each task with the token of a staff member of its department (user plan.departments + k)
            work = [(task_id, tokens[plan.user(plan.departments + k)])
                    for k in depts for task_id in open_tasks.get(plan.department(k), [])]
            random.Random(depts[0]).shuffle(work)
            users.append(VirtualUser(username, work, tokens[plan.user(depts[0])], balancer, client, ledger))
        for u in users:
            await u.login(seed.PASSWORD)
        node, scheduler = cluster.app_nodes[-1], cluster.scheduler_members[0]
        faults = [
            (args.kill_at, lambda: (_say(f"kill -9 {node.name} and {scheduler.name}"), node.kill9(), scheduler.kill9())),
            (args.restart_at, lambda: (_say(f"restart {node.name} and {scheduler.name}"), node.restart(),
                                       cluster.restart_scheduler(scheduler))),
        ]
        phases = []
        await run_phase(users, Phase("warmup"), MIXES["mixed"], 5)
        rates = {"inbox": args.paced_inbox, "complete": args.paced_complete}
        for name, seconds, events in (("inbox", args.phase_seconds, ()), ("complete", args.phase_seconds, ()),
                                      ("paced", args.phase_seconds, ()), ("mixed_with_faults", args.seconds, faults)):
            if name == "paced":
                _say(f"phase paced: {seconds}s, requests arriving at {rates} per second")
                phases.append(await run_paced(users, Phase(name), rates, seconds))
                continue
            _say(f"phase {name}: {seconds}s, {args.concurrency} virtual users as fast as they are answered")
            phases.append(await run_phase(users, Phase(name), MIXES[name.split("_")[0]], seconds, events))
    finally:
        for c in clients:
            await c.close()
    return phases, ledger


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    ap.add_argument("--url", default=os.environ.get("QINGLIAN_LOAD_PG_URL", DEFAULT_URL),
                    help="a PostgreSQL database to (re)create for the run")
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--departments", type=int, default=200)
    ap.add_argument("--open-tasks", type=int, default=100_000)
    ap.add_argument("--skip-seed", action="store_true", help="reuse the database of a previous run")
    ap.add_argument("--seed-only", action="store_true", help="seed the database, then stop")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per app node")
    ap.add_argument("--concurrency", type=int, default=12, help="virtual users (one per department)")
    ap.add_argument("--phase-seconds", type=float, default=20,
                    help="length of the inbox-only, completion-only and paced phases")
    ap.add_argument("--paced-inbox", type=float, default=40,
                    help="inbox pages per second arriving in the paced phase (2,000 people each opening it "
                         "every 50 s)")
    ap.add_argument("--paced-complete", type=float, default=40, help="completions per second in the paced phase")
    ap.add_argument("--seconds", type=float, default=60, help="length of the mixed phase with the faults")
    ap.add_argument("--kill-at", type=float, default=15)
    ap.add_argument("--restart-at", type=float, default=30)
    ap.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "instance" / "loadtest")
    ap.add_argument("--output", type=Path, default=PROJECT_ROOT / "bench" / "results" / "loadtest.json")
    args = ap.parse_args(argv)
    if args.paced_inbox < 0 or args.paced_complete < 0:
        ap.error("--paced-inbox and --paced-complete are rates per second: 0 or more")

    plan = seed.Plan(departments=args.departments, users=args.users, open_tasks=args.open_tasks)
    report = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "note": "shared with other work; the load driver runs on the same cores"},
              "topology": {"app_nodes": 2, "workers_per_node": args.workers, "schedulers": 2,
                           "database": "PostgreSQL (one)", "balancing": "client-side round-robin, retry once on "
                           "another node when a node gives no answer"},
              "plan": {"users": plan.users, "departments": plan.departments, "open_tasks": plan.open_tasks,
                       "virtual_users": args.concurrency},
              "phases_explained": {
                  "inbox, complete, mixed_with_faults": "closed loop: each virtual user sends its next request as "
                  "soon as the last is answered — throughput at saturation; latencies include the queue",
                  "paced": f"open loop: inbox pages and completions arrive at fixed rates ({args.paced_inbox}/s and "
                  f"{args.paced_complete}/s, Poisson), whatever the answers take — latency at a steady load"}}
    if not args.skip_seed:
        fresh_database(args.url)
        began = time.perf_counter()
        tokens = seed.organisation(args.url, plan)
        report["seed"] = {"organisation_seconds": round(time.perf_counter() - began, 1)}
        _say(f"{plan.users} staff in {plan.departments} departments; starting {plan.open_tasks} instances")
        last = [0.0]

        def progress(done, total):
            if time.monotonic() - last[0] > 10 or done == total:
                last[0] = time.monotonic()
                _say(f"  {done}/{total} instances started")
        seconds = seed.open_tasks(args.url, plan, progress)
        report["seed"].update(instances_seconds=round(seconds, 1),
                              instances_per_second=round(plan.open_tasks / seconds, 1))
        args.workdir.mkdir(parents=True, exist_ok=True)
        (args.workdir / "tokens.json").write_text(json.dumps(tokens))
        (args.workdir / "seed.json").write_text(json.dumps(report["seed"]))
        if args.seed_only:
            _say(f"seeded: {report['seed']}")
            return 0
    else:
        tokens = json.loads((args.workdir / "tokens.json").read_text())
        seeded = args.workdir / "seed.json"
        report["seed"] = json.loads(seeded.read_text()) if seeded.exists() else None
    db = create_db_engine(args.url)
    # a database in its steady state, not one busy with the aftermath of a bulk load (a first vacuum
    # of 100,000 new instances, their hint bits, the seed's checkpoint) while being measured
    _say("VACUUM ANALYZE and CHECKPOINT before the run")
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        conn.exec_driver_sql("CHECKPOINT")
    with db.begin() as conn:
        report["seed_state"] = {"open_tasks": conn.execute(sa.select(sa.func.count()).select_from(human_task)
                                                          .where(human_task.c.status == "open")).scalar()}
    cluster = Cluster(args.url, args.workdir, workers=args.workers).build()
    _say("starting 2 app nodes and 2 schedulers")
    cluster.start()
    try:
        phases, ledger = asyncio.run(drive(cluster, plan, tokens, db, args))
        cluster.wait_ready()
        report["phases"] = {p.name: p.summary() for p in phases}
        _say(f"waiting for the {len(ledger.timer_instances)} timers started during the run to fire")
        report["timer_drain_seconds"] = round(checks.wait_for_timers(db, ledger.timer_instances), 1)
        metrics = httpx.get(cluster.app_nodes[0].url + "/metrics", timeout=30).text
        (args.workdir / "metrics.txt").write_text(metrics)
    finally:
        cluster.stop()
    _say("checking: acknowledged completions, timers, audit chains")
    findings = checks.check(db, ledger.acked_completions, ledger.unacked_completions, ledger.timer_instances)
    verify = subprocess.run([sys.executable, "-m", "engine", "audit", "verify"], env=dict(os.environ, DATABASE_URL=args.url),
                            capture_output=True, text=True, cwd=PROJECT_ROOT)
    findings.audit_ok = verify.returncode == 0
    findings.audit_events = int(verify.stdout.split()[0]) if verify.stdout.strip() else 0
    report["faults"] = {"killed": [cluster.app_nodes[-1].name, cluster.scheduler_members[0].name],
                        "kill_at_s": args.kill_at, "restart_at_s": args.restart_at}
    report["checks"] = findings.to_dict()
    report["instances_started"] = len(ledger.started)
    db.dispose()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    _print(report)
    return 0 if findings.ok else 1


def _print(report: dict) -> None:
    for name, phase in report["phases"].items():
        for kind, s in phase["types"].items():
            if s.get("ok"):
                print(f"{name:<18} {kind:<9} {s['per_second']:>7.1f}/s  p50 {s['p50_ms']:>6.1f} ms  "
                      f"p95 {s['p95_ms']:>6.1f} ms  p99 {s['p99_ms']:>6.1f} ms  errors {s['errors'] or '-'}")
            else:
                print(f"{name:<18} {kind:<9} no success; errors {s['errors']}")
    c = report["checks"]
    print(f"completions acknowledged with 2xx: {c['acked_completions']}; in the database exactly once: "
          f"{c['acked_completions_in_db']}; missing: {c['acked_completions_missing']}; "
          f"recorded twice (any task): {c['completions_recorded_twice']}")
    print(f"completions without an answer (node killed): {c['unacked_completions']}, "
          f"of which committed once: {c['unacked_completions_committed']}")
    print(f"timers started during the run: {c['timer_instances']}; fired exactly once: {c['timers_fired_once']}; "
          f"twice: {c['timers_fired_twice']}; not fired: {c['timers_not_fired']}")
    print(f"audit verify: {'OK' if c['audit_ok'] else 'FAILED'} ({c['audit_events']} events)")
    print("ALL CHECKS PASSED" if c["ok"] else "CHECKS FAILED")


if __name__ == "__main__":
    sys.exit(main())
