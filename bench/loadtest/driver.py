"""The mixed load: virtual users (asyncio tasks) sending inbox reads, task completions, instance
starts and timer starts over HTTP (aiohttp: the driver shares the cores with what it measures, so its
client should cost little), round-robin over the app nodes — the client is its own load
balancer: a node that fails a connection is skipped for a second, and the request is retried once
on another node (as a balancer with retries would). Latency is measured per request type, from
send to the last byte of the answer."""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import statistics
import time
from dataclasses import dataclass, field

import aiohttp

REPORT = {"month": "2026-09-01", "progress": "完成第三季度廉洁风险排查，共 12 项。",
          "problems": "个别科室台账不全。", "next_plan": "十月开展专项检查。"}
MIXES = {
    "inbox": {"inbox": 1.0},
    "complete": {"complete": 1.0},
    "mixed": {"complete": 0.45, "inbox": 0.35, "start": 0.10, "timer": 0.10},
}


@dataclass
class Ledger:
    """What the clients were told: the evidence the checks hold the database to."""
    acked_completions: list[str] = field(default_factory=list)
    unacked_completions: list[str] = field(default_factory=list)   # no answer: may or may not have committed
    started: list[str] = field(default_factory=list)
    timer_instances: list[str] = field(default_factory=list)


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies: dict = field(default_factory=dict)      # type -> [ms] of 2xx answers
    errors: dict = field(default_factory=dict)          # type -> {status or error: count}

    def record(self, kind: str, ms: float | None, outcome: str | int) -> None:
        if ms is not None and isinstance(outcome, int) and outcome < 400:
            self.latencies.setdefault(kind, []).append(ms)
        else:
            bucket = self.errors.setdefault(kind, {})
            bucket[str(outcome)] = bucket.get(str(outcome), 0) + 1

    def summary(self) -> dict:
        out = {"seconds": round(self.seconds, 1), "types": {}}
        for kind, values in sorted(self.latencies.items()):
            values = sorted(values)
            out["types"][kind] = {"ok": len(values), "per_second": round(len(values) / self.seconds, 1),
                                  "p50_ms": _pct(values, 50), "p95_ms": _pct(values, 95),
                                  "p99_ms": _pct(values, 99), "mean_ms": round(statistics.fmean(values), 1),
                                  "errors": self.errors.get(kind, {})}
        for kind, errs in self.errors.items():
            out["types"].setdefault(kind, {"ok": 0, "errors": errs})
        return out


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return round(values[k], 1)


class Balancer:
    def __init__(self, urls: list[str]):
        self.urls = urls
        self.down_until = {u: 0.0 for u in urls}
        self._next = itertools.cycle(range(len(urls)))

    def pick(self, avoid: str | None = None) -> str:
        now = time.monotonic()
        for _ in range(len(self.urls)):
            url = self.urls[next(self._next)]
            if url != avoid and self.down_until[url] <= now:
                return url
        return next(u for u in self.urls if u != avoid) if avoid and len(self.urls) > 1 else self.urls[0]

    def failed(self, url: str) -> None:
        self.down_until[url] = time.monotonic() + 1.0


class VirtualUser:
    def __init__(self, username: str, tasks: list[tuple[str, str]], starter_token: str, balancer: Balancer,
                 client: aiohttp.ClientSession, ledger: Ledger):
        """`client` is the user's own (its cookie jar holds the user's session); `tasks` are (task id,
        API token of a member of the task's department) pairs."""
        self.username, self.tasks = username, tasks
        self.starter_token, self.balancer, self.client, self.ledger = starter_token, balancer, client, ledger

    async def login(self, password: str) -> None:
        """Sign in on the first node; the session cookie (signed with the shared key) works on every node."""
        url = self.balancer.urls[0]
        async with self.client.get(url + "/login") as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
        async with self.client.post(url + "/login", allow_redirects=False, data={
                "username": self.username, "password": password, "csrf_token": token}) as resp:
            if resp.status != 302:
                raise RuntimeError(f"login of {self.username} failed: {resp.status}")

    async def _send(self, kind: str, method: str, path: str, phase: Phase, **kwargs) -> tuple[int, bytes] | None:
        """Send once, and once more on another node if the first gets no answer at all. Returns the
        status and the body, or None when neither node answered."""
        avoid = None
        for attempt in range(2):
            url = self.balancer.pick(avoid)
            began = time.perf_counter()
            try:
                async with self.client.request(method, url + path, allow_redirects=False, **kwargs) as resp:
                    body = await resp.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.balancer.failed(url)
                phase.record(kind, None, type(exc).__name__)
                avoid = url
                continue
            ms = (time.perf_counter() - began) * 1000
            phase.record(kind, ms, resp.status)
            return resp.status, body
        return None

    async def step(self, kind: str, phase: Phase) -> None:
        if kind == "inbox":
            await self._send(kind, "GET", "/inbox?view=claimable", phase)
        elif kind == "complete":
            if not self.tasks:          # this user's department has no task left: say so, do not spin
                phase.record(kind, None, "no_task_left")
                await asyncio.sleep(0.1)
                return
            task_id, token = self.tasks.pop()
            resp = await self._send(kind, "POST", f"/api/v1/tasks/{task_id}/complete", phase,
                                    json={"data": REPORT}, headers={"Authorization": f"Bearer {token}"})
            if resp is not None and resp[0] < 300:
                self.ledger.acked_completions.append(task_id)
            elif resp is None:
                self.ledger.unacked_completions.append(task_id)
        elif kind in ("start", "timer"):
            body = ({"process_key": "load_task", "data": {"department": "d000"}} if kind == "start"
                    else {"process_key": "load_timer"})
            resp = await self._send(kind, "POST", "/api/v1/instances", phase, json=body,
                                    headers={"Authorization": f"Bearer {self.starter_token}"})
            if resp is not None and resp[0] == 201:
                (self.ledger.started if kind == "start" else self.ledger.timer_instances).append(json.loads(resp[1])["id"])


async def run_paced(users: list[VirtualUser], phase: Phase, rates: dict[str, float], seconds: float,
                    seed: int = 7) -> Phase:
    """Open loop: requests of each kind arrive at `rates` per second (Poisson), each sent by the next
    user in turn, whether or not earlier ones were answered — the latency of a steady load, without
    the queue a closed loop at saturation builds."""
    rng = random.Random(seed)
    turn = itertools.cycle(users)
    began = time.monotonic()
    stop = began + seconds
    sent: list[asyncio.Task] = []

    async def arrivals(kind: str, rate: float):
        next_at = time.monotonic()
        while True:
            next_at += rng.expovariate(rate)
            if next_at >= stop:
                return
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            sent.append(asyncio.create_task(next(turn).step(kind, phase)))

    await asyncio.gather(*(arrivals(kind, rate) for kind, rate in rates.items() if rate > 0))
    if sent:
        await asyncio.wait(sent, timeout=60)
    phase.seconds = time.monotonic() - began
    return phase


async def run_phase(users: list[VirtualUser], phase: Phase, mix: dict, seconds: float, events=()) -> Phase:
    """Every user loops for `seconds`, picking request types by `mix`; `events` are (at_second, callable)
    run in a thread at those moments (the faults)."""
    kinds, weights = zip(*mix.items())
    stop = time.monotonic() + seconds
    began = time.monotonic()

    async def loop(user: VirtualUser, rng: random.Random):
        while time.monotonic() < stop:
            await user.step(rng.choices(kinds, weights)[0], phase)

    async def timeline():
        for at, action in sorted(events, key=lambda e: e[0]):
            await asyncio.sleep(max(0.0, began + at - time.monotonic()))
            await asyncio.to_thread(action)

    await asyncio.gather(timeline(), *(loop(u, random.Random(i)) for i, u in enumerate(users)))
    phase.seconds = time.monotonic() - began
    return phase
