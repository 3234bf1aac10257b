"""The resident LibreOffice: one headless `soffice` per process, started the first time a PDF is
asked for, kept running, and restarted if it dies — so a PDF costs a conversion, not an office start.

LibreOffice's UNO binding lives in Debian's Python (`python3-uno`), not in our virtualenv, so the
UNO client runs there: `office_bridge.py`, a child program spoken to over its standard input and
output (no network port to guard). Conversions in a process take turns through one lock (LibreOffice
converts one document at a time anyway); each process (a gunicorn worker, a test worker) has its own
office, and a forked child never uses its parent's. Closing the pipe ends the bridge and LibreOffice
with it; the bridge also dies with its parent (PR_SET_PDEATHSIG), so no office outlives us.

`ResidentOffice.convert` raises `OfficeUnavailable` when there is no Python with UNO (the caller
falls back to a one-off `soffice --convert-to`), `OfficeFailed` when a document cannot be converted.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path

BRIDGE = Path(__file__).with_name("office_bridge.py")
LENGTH = struct.Struct(">I")
START_SECONDS = 60
# Where Debian's `python3-uno` is importable.
UNO_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


class OfficeUnavailable(Exception):
    """No resident office can run here (no Python with UNO, or LibreOffice would not start)."""


class OfficeFailed(Exception):
    """This document could not be converted (the office itself is fine)."""


class _Gone(Exception):
    """The bridge or its LibreOffice ended: start a new one and try again."""


_uno_python: str | None | bool = False   # False: not looked for yet


def uno_python() -> str | None:
    """A Python interpreter that can `import uno`, or None."""
    global _uno_python
    if _uno_python is False:
        found = None
        for candidate in UNO_PYTHONS:
            if Path(candidate).exists():
                try:
                    ok = subprocess.run([candidate, "-c", "import uno"], capture_output=True, timeout=30).returncode == 0
                except (OSError, subprocess.TimeoutExpired):
                    ok = False
                if ok:
                    found = candidate
                    break
        _uno_python = found
    return _uno_python


class ResidentOffice:
    def __init__(self, soffice: str, env: dict[str, str]):
        self.soffice = soffice
        self.env = env
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._owner = os.getpid()
        self.soffice_pid: int | None = None
        self.starts = 0

    # -- life ---------------------------------------------------------------------------------------
    def _running(self) -> subprocess.Popen:
        if self._owner != os.getpid():        # a forked child: the office is the parent's
            self._proc, self._owner, self._lock = None, os.getpid(), threading.Lock()
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        python = uno_python()
        if python is None:
            raise OfficeUnavailable("no Python with LibreOffice's UNO binding (python3-uno)")
        proc = subprocess.Popen([python, str(BRIDGE), self.soffice, str(START_SECONDS)], env=self.env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self._proc = proc
        self.starts += 1
        try:
            status, payload = self._answer(proc, time.monotonic() + START_SECONDS + 10)
        except _Gone as exc:
            self._stop()
            raise OfficeUnavailable(str(exc)) from None
        if status != b"R":
            self._stop()
            raise OfficeUnavailable(payload.decode(errors="replace"))
        self.soffice_pid = json.loads(payload)["soffice_pid"]
        return proc

    def _stop(self) -> None:
        """End the bridge (and so its LibreOffice): close its input, then signal if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                if sig == signal.SIGKILL and self.soffice_pid:
                    try:
                        os.killpg(self.soffice_pid, sig)
                    except ProcessLookupError:
                        pass
            try:
                proc.wait(timeout=15 if sig is None else 5)
                break
            except subprocess.TimeoutExpired:
                continue
        proc.stdout.close()
        self.soffice_pid = None

    def close(self) -> None:
        with self._lock:
            if self._owner == os.getpid():
                self._stop()

    def pids(self) -> tuple[int | None, int | None]:
        """(bridge, soffice) process ids, for tests and diagnostics."""
        return (self._proc.pid if self._proc is not None and self._proc.poll() is None else None), self.soffice_pid

    # -- talking ------------------------------------------------------------------------------------
    @staticmethod
    def _read(proc: subprocess.Popen, n: int, deadline: float) -> bytes:
        fd, chunks, left = proc.stdout.fileno(), [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError("LibreOffice took too long")
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise _Gone("LibreOffice has ended")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _answer(self, proc: subprocess.Popen, deadline: float) -> tuple[bytes, bytes]:
        status = self._read(proc, 1, deadline)
        length = LENGTH.unpack(self._read(proc, LENGTH.size, deadline))[0]
        payload = self._read(proc, length, deadline)
        if status == b"2":
            raise _Gone(payload.decode(errors="replace"))
        return status, payload

    def _ask(self, docx: bytes, timeout: float) -> bytes:
        proc = self._running()
        try:
            proc.stdin.write(LENGTH.pack(len(docx)) + docx)
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _Gone(str(exc)) from None
        status, payload = self._answer(proc, time.monotonic() + timeout)
        if status != b"0":
            raise OfficeFailed(payload.decode(errors="replace"))
        return payload

    def convert(self, docx: bytes, *, timeout: float) -> bytes:
        """The .docx as PDF; a dead office is restarted once, a hung one ended (TimeoutError)."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._ask(docx, timeout)
                except _Gone:
                    self._stop()
                    if attempt == 2:
                        raise OfficeUnavailable("LibreOffice ended twice in a row") from None
                except TimeoutError:
                    self._stop()
                    raise
        raise AssertionError("unreachable")


_offices: dict[str, ResidentOffice] = {}
_offices_lock = threading.Lock()


def resident(soffice: str, env: dict[str, str]) -> ResidentOffice:
    """This process's office for `soffice` (started at its first conversion)."""
    with _offices_lock:
        office = _offices.get(soffice)
        if office is None:
            office = _offices[soffice] = ResidentOffice(soffice, env)
        return office


def shutdown() -> None:
    """End every resident office of this process (at exit; tests call it to check nothing lingers)."""
    with _offices_lock:
        offices = list(_offices.values())
    for office in offices:
        office.close()


def _after_fork_in_child() -> None:
    """A forked child lets go of its parent's offices: it closes its copies of their pipes (else the
    parent's bridge would never see the end of its input) and starts its own when it needs one."""
    global _offices_lock
    _offices_lock = threading.Lock()
    for office in _offices.values():
        if office._proc is not None:
            for stream in (office._proc.stdin, office._proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
    _offices.clear()


atexit.register(shutdown)
os.register_at_fork(after_in_child=_after_fork_in_child)
