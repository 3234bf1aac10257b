"""App nodes and schedulers as separate process groups, as on separate machines: each can be killed
with SIGKILL (the whole group at once — a gunicorn master and its workers die together, like a
machine losing power) and started again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from engine.config import PROJECT_ROOT


@dataclass
class Member:
    name: str
    argv: list[str]
    env: dict
    log: Path
    url: str | None = None                 # app nodes: where they answer
    proc: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> None:
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()

    def kill9(self) -> None:
        """SIGKILL the member's whole process group: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()

    def restart(self) -> None:
        self.restarts += 1
        self.start()


@dataclass
class Cluster:
    database_url: str
    workdir: Path
    nodes: int = 2
    schedulers: int = 2
    workers: int = 2
    base_port: int = 8801
    members: list[Member] = field(default_factory=list)

    def _env(self, **extra) -> dict:
        env = dict(os.environ, DATABASE_URL=self.database_url, QINGLIAN_INSTANCE_DIR=str(self.workdir),
                   QINGLIAN_SECRET_KEY="loadtest-shared-secret", QINGLIAN_LOG_LEVEL="WARNING")
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(extra)
        return env

    def build(self) -> "Cluster":
        self.workdir.mkdir(parents=True, exist_ok=True)
        for i in range(self.nodes):
            port = self.base_port + i
            metrics_dir = self.workdir / f"metrics-node{i + 1}"
            self.members.append(Member(
                f"node{i + 1}",
                [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "web" / "gunicorn_conf.py"), "web.wsgi:app"],
                self._env(QINGLIAN_BIND=f"127.0.0.1:{port}", QINGLIAN_WORKERS=str(self.workers),
                          PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
                self.workdir / f"node{i + 1}.log", url=f"http://127.0.0.1:{port}"))
        for i in range(self.schedulers):
            self.members.append(Member(
                f"scheduler{i + 1}",
                [sys.executable, "-m", "engine", "scheduler", "--owner", f"loadtest-scheduler{i + 1}-r0"],
                self._env(), self.workdir / f"scheduler{i + 1}.log"))
        return self

    @property
    def app_nodes(self) -> list[Member]:
        return [m for m in self.members if m.url]

    @property
    def scheduler_members(self) -> list[Member]:
        return [m for m in self.members if not m.url]

    def start(self) -> None:
        for m in self.members:
            m.start()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for node in self.app_nodes:
            while True:
                try:
                    if httpx.get(node.url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{node.name} is not ready after {timeout}s: see {node.log}")
                time.sleep(0.3)

    def restart_scheduler(self, member: Member) -> None:
        """A restarted scheduler is a new owner (as with a new pid): the dead one's leases must expire."""
        member.argv[-1] = member.argv[-1].rsplit("-", 1)[0] + f"-r{member.restarts + 1}"
        member.restart()

    def stop(self) -> None:
        for m in self.members:
            m.stop()
