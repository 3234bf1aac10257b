"""The REST API as a client sees it: W1 and W2 through `/api/v1` of the production server, beside the
in-process engine measured in the same run (issue 23, target 1: an API completion <= 2x an engine one).

The server is gunicorn with web/gunicorn_conf.py and ONE sync worker, on a free loopback port, SQLite
in a temporary folder, no scheduler (`bench/rest_server.py`: the production app plus a statement count
on request). The client is Python's own `http.client`, sequential (gunicorn's sync worker closes the
connection after each answer, as in production: each request connects again), with a bearer token
from `POST /auth/token`. Not httpx: on this machine httpx spends about 1 ms of its own on each
request, which no browser or integrating system pays; `client_floor` shows what an empty request
(`GET /healthz`) costs with either client, so the client's share of the figures can be read off.
Latencies are the client's (request sent to JSON read), in ms. W1 runs in rounds, each the in-process
engine then the API; the ratio of their p50s is taken per round and the median reported.
`in_app`: the p50/p99 of the app's own access lines for the same requests (Flask and the engine,
without gunicorn, HTTP and the client). SQL statements per request: counted by the server's SQLite
trace on 20 more requests outside the timed ones, by verb (BEGIN and COMMIT included).
"""
from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.db.transactions import write_transaction
from engine.org import accounts, people as org

WORKLOADS = PROJECT_ROOT / "bench" / "workloads"
API = "/api/v1"
USER, PASSWORD = "bench", "bench-password-2026"
W2_STEPS = (10, 250, 500)
COUNTED = 20             # requests of each kind whose statements are counted (untimed)
W1_DATA = {"approved": True}    # given at the start: a task with no form takes no data through the API


def _ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)


def _summary(ms: list[float]) -> dict:
    """p50, p99 and mean of latencies in ms."""
    return {"p50_ms": _pct(ms, 50), "p99_ms": _pct(ms, 99), "mean_ms": round(statistics.fmean(ms), 3), "n": len(ms)}


# -- in-process, the same run ------------------------------------------------------------------------
def _w1_engine(url: str):
    """A fresh engine with W1, warmed up like the server by its first requests."""
    from bench.engine_bench import _fresh_engine
    engine = _fresh_engine(url)
    for _ in range(20):
        engine.complete_task(engine.start("w1_process", started_by="bench", data=W1_DATA).tasks[0].id,
                             user="bench")
    return engine


def in_process_w1(engine, n: int) -> tuple[list[float], list[float]]:
    """The engine's own W1: n starts, then n completions, each timed (ms): the ratios' denominator."""
    gc.collect()
    starts, completes, ids = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        ids.append(engine.start("w1_process", started_by="bench", data=W1_DATA).tasks[0].id)
        starts.append(time.perf_counter() - t0)
    for tid in ids:
        t0 = time.perf_counter()
        engine.complete_task(tid, user="bench")
        completes.append(time.perf_counter() - t0)
    return _ms(starts), _ms(completes)


# -- the server --------------------------------------------------------------------------------------
def _w2_in_a_lane() -> bytes:
    """W2 with its user task in lane LaneA: through the API a task is worked by its lane's candidates."""
    xml = (WORKLOADS / "w2.bpmn").read_text(encoding="utf-8")
    opening = '<bpmn:process id="w2_process" name="W2 loop 500" isExecutable="true">'
    assert opening in xml
    lane = ('<bpmn:laneSet id="LaneSet_w2"><bpmn:lane id="Lane_A" name="LaneA">'
            '<bpmn:flowNodeRef>step</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')
    return xml.replace(opening, opening + lane).encode("utf-8")


def _prepare(url: str) -> None:
    """W1 and W2 deployed (lanes LaneA, LaneB), one person who may start any instance and work both lanes."""
    from bench.engine_bench import _fresh_engine
    engine = _fresh_engine(url)
    engine.deploy([SourceFile("w2.bpmn", _w2_in_a_lane())], deployed_by="bench")
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        org.save_department(conn, {"code": "bench", "name_zh": "基准", "category": "administrative"}, now)
        org.save_staff(conn, {"username": USER, "name": "基准", "department": "bench",
                              "roles": ["staff", "discipline_office", "LaneA", "LaneB"]}, now,
                       password_hash=accounts.hash_password(PASSWORD))
    engine.db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn, one worker, in its own process group (stopped as a whole)."""

    def __init__(self, folder: Path, url: str):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        env = dict(os.environ, DATABASE_URL=url, QINGLIAN_INSTANCE_DIR=str(folder),
                   QINGLIAN_BIND=f"127.0.0.1:{self.port}", QINGLIAN_WORKERS="1", QINGLIAN_THREADS="1",
                   PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"), PYTHONPATH=str(PROJECT_ROOT))
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "web" / "gunicorn_conf.py"),
                 "--chdir", str(PROJECT_ROOT), "bench.rest_server:app"],
                env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server stopped: see {self.log}\n{self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server is not ready after {timeout}s: see {self.log}")
            time.sleep(0.2)

    def access_lines(self) -> list[dict]:
        """The app's own JSON access lines so far (route, status, duration_ms: Flask's share of a request)."""
        lines = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            if line.startswith("{") and '"qinglian.access"' in line:
                lines.append(json.loads(line))
        return lines

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Client:
    """A sequential JSON client on `http.client` (it connects again when the server closes)."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json"}
        token, _, _ = self.call("POST", "/auth/token", {"username": USER, "password": PASSWORD}, expect=201)
        self.headers["Authorization"] = f"Bearer {token['token']}"

    def call(self, method: str, path: str, body=None, *, expect: int = 200, count: bool = False):
        """(answer, seconds, statements by verb or None)."""
        headers = {**self.headers, "X-Bench-Count-SQL": "1"} if count else self.headers
        t0 = time.perf_counter()
        self.http.request(method, API + path, json.dumps(body).encode(), headers)
        resp = self.http.getresponse()
        answer = json.loads(resp.read())
        seconds = time.perf_counter() - t0
        assert resp.status == expect, (resp.status, str(answer)[:500])
        sql = json.loads(resp.getheader("X-Bench-SQL")) if count else None
        return answer, seconds, sql

    def start(self, process_key: str, data=None, **kw):
        return self.call("POST", "/instances", {"process_key": process_key, "data": data}, expect=201, **kw)

    def complete(self, task_id: str, body=None, **kw):
        return self.call("POST", f"/tasks/{task_id}/complete", body if body is not None else {}, **kw)

    def close(self) -> None:
        self.http.close()


def client_floor(server: "Server", n: int = 300) -> dict:
    """p50 of an empty request (`GET /healthz`: no sign-in, no database) with each client, in ms."""
    def timed(get) -> float:
        for _ in range(20):
            get()
        seconds = []
        for _ in range(n):
            t0 = time.perf_counter()
            get()
            seconds.append(time.perf_counter() - t0)
        return _pct(_ms(seconds), 50)

    plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def stdlib():
        plain.request("GET", "/healthz")
        plain.getresponse().read()
    with httpx.Client(base_url=server.base, timeout=30) as hx:
        floor = {"http_client_p50_ms": timed(stdlib), "httpx_p50_ms": timed(lambda: hx.get("/healthz").read())}
    plain.close()
    return floor


def _statements(samples: list[dict]) -> dict:
    verbs = sorted({v for s in samples for v in s})
    per = {v: round(sum(s.get(v, 0) for s in samples) / len(samples), 2) for v in verbs}
    return {"total": round(sum(per.values()), 2), **per}


def _in_app(lines: list[dict], route: str) -> dict:
    ms = [line["duration_ms"] for line in lines if line.get("route") == route]
    return {"p50_ms": _pct(ms, 50), "p99_ms": _pct(ms, 99)} if ms else {}


def api_w1(client: Client, n: int) -> tuple[list[float], list[float]]:
    """n starts, then n completions through the API, each timed (ms)."""
    gc.collect()
    starts, completes, ids = [], [], []
    for _ in range(n):
        view, seconds, _ = client.start("w1_process", W1_DATA)
        ids.append(view["tasks"][0]["id"])
        starts.append(seconds)
    for tid in ids:
        view, seconds, _ = client.complete(tid)
        completes.append(seconds)
    assert view["tasks"][0]["element_id"] == "review"
    return _ms(starts), _ms(completes)


def api_w1_statements(client: Client) -> dict:
    start_sql, complete_sql = [], []
    for _ in range(COUNTED):
        view, _, sql = client.start("w1_process", W1_DATA, count=True)
        start_sql.append(sql)
        complete_sql.append(client.complete(view["tasks"][0]["id"], count=True)[2])
    return {"start": _statements(start_sql), "complete": _statements(complete_sql)}


def api_w2(client: Client) -> dict:
    """One instance through its 500 passes: the cost of a completion near steps 10, 250 and 500 (the median
    of the 5 steps before each), and the statements of those three steps (counted, so not timed)."""
    view = client.start("w2_process")[0]
    costs, sql = {}, {}
    for step in range(1, 501):
        [task] = view["tasks"]
        if step in W2_STEPS:
            view, _, sql[step] = client.complete(task["id"], count=True)
            continue
        view, seconds, _ = client.complete(task["id"])
        costs[step] = seconds * 1000
    assert view["status"] == "completed" and view["data"]["counter"] == 500, view["status"]
    per_step = {s: round(statistics.median(costs[k] for k in range(s - 5, s)), 3) for s in W2_STEPS}
    return {"ms_per_completion": per_step, "step500_over_step10": round(per_step[500] / per_step[10], 2),
            "target": "<= 2", "sql_statements": {s: _statements([sql[s]]) for s in W2_STEPS}}


ROUNDS = 5


def run(quick: bool = False) -> dict:
    """W1 in ROUNDS rounds, each the in-process engine then the API right after (a machine whose load
    drifts moves both alike): every round's ratio listed, the median reported; then W2 once."""
    n = 100 if quick else 1000
    rounds = 1 if quick else ROUNDS
    ops = ("start", "complete")
    inproc = {op: [] for op in ops}
    api = {op: [] for op in ops}
    ratios = []
    with tempfile.TemporaryDirectory(prefix="qinglian-rest-bench-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'rest.db'}"
        _prepare(url)
        server = Server(folder, url)
        try:
            began = time.perf_counter()
            server.wait_ready()
            boot = time.perf_counter() - began
            floor = client_floor(server)
            client = Client(server.port)
            for _ in range(20):               # warm up: first requests compile and fill caches
                client.complete(client.start("w1_process", W1_DATA)[0]["tasks"][0]["id"])
            engine = _w1_engine(f"sqlite:///{folder / 'inproc.db'}")
            mark = len(server.access_lines())
            for _ in range(rounds):
                ours = dict(zip(ops, in_process_w1(engine, n // rounds)))
                theirs = dict(zip(ops, api_w1(client, n // rounds)))
                for op in ops:
                    inproc[op] += ours[op]
                    api[op] += theirs[op]
                ratios.append({op: round(_pct(theirs[op], 50) / _pct(ours[op], 50), 2) for op in ops})
            engine.db.dispose()
            time.sleep(0.2)                   # the last access line written
            timed = server.access_lines()[mark:]
            statements = api_w1_statements(client)
            w2 = api_w2(client)
            client.close()
        finally:
            server.stop()
    routes = {"start": API + "/instances", "complete": API + "/tasks/<task_id>/complete"}
    return {
        "server": "gunicorn, 1 sync worker, SQLite, no scheduler; client http.client, sequential",
        "client_floor": floor,
        "n_instances": n, "rounds": rounds, "server_boot_s": round(boot, 1),
        "in_process_sqlite": {op: _summary(inproc[op]) for op in ops},
        "api_w1": {op: {**_summary(api[op]), "in_app": _in_app(timed, routes[op]), "sql_statements": statements[op]}
                   for op in ops},
        "api_over_in_process_p50": {**{op: statistics.median(r[op] for r in ratios) for op in ops},
                                    "rounds": ratios, "target": "<= 2"},
        "api_w2": w2,
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), ensure_ascii=False, indent=2))
