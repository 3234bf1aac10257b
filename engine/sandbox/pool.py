"""A hard limit for C-level work: scripts run in a small pool of worker processes, each under
RLIMIT_AS (memory) and RLIMIT_CPU (CPU seconds), killed and replaced when a script overruns.

The trace function (`tracer.py`) stops Python-level work, but one C-level operation — comparing two
deeply shared nested lists, say — runs without a trace event and held the whole server, `/healthz`
included. In a worker such an operation is stopped by the kernel (SIGXCPU at the CPU limit), or by
the parent, which waits for the answer at most `wall_seconds` and then kills the worker. The parent
thread waits on a pipe, without the GIL: the server's other threads and the scheduler go on.

What a worker runs: every script (script tasks, pre- and post-scripts) and every expression that can
loop (`needs_worker`: a comprehension, a lambda or `:=`). Other expressions — a gateway condition, a
`dueIn` — do a bounded amount of work on bounded data and stay in-process, under the trace function:
they run thousands of times and a round trip to a worker would cost more than they do.

A worker calls the engine's helpers (`now`, `working_days`, `staff_name`…) back in the parent, on
the waiting thread, so they read the operation's own transaction. Task data goes to the worker and
back by pickle; an error keeps its type, message and script line.
"""
from __future__ import annotations

import ast
import functools
import logging
import math
import multiprocessing
import queue
import signal
import threading
import time
from typing import Callable

from .errors import ScriptError, ScriptForbidden, ScriptLimits, ScriptTimeout, ScriptTooLarge

log = logging.getLogger(__name__)

_ERRORS = {cls.__name__: cls for cls in (ScriptError, ScriptForbidden, ScriptTimeout, ScriptTooLarge)}


@functools.lru_cache(maxsize=4096)
def needs_worker(expression: str) -> bool:
    """Whether an expression can loop (so may run long in one C call on values it builds itself)."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return False                   # the sandbox refuses it in-process, with the usual message
    return any(isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda,
                              ast.NamedExpr)) for n in ast.walk(tree))


class _Worker:
    def __init__(self, ctx, memory_mb: int | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, memory_mb), daemon=True,
                                   name="qinglian-script-worker")
        self.process.start()
        child.close()

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        finally:
            self.conn.close()


class ScriptPool:
    """`size` worker processes, started when first needed and replaced after an overrun."""

    def __init__(self, size: int = 2, memory_mb: int | None = 1024, grace_seconds: float = 3.0):
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self.grace_seconds = grace_seconds
        self._ctx = multiprocessing.get_context("spawn")   # no fork of a threaded server
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started = 0
        self._lock = threading.Lock()
        self.replaced = 0                                  # workers killed after an overrun (metrics, tests)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.size:
                self._started += 1
                try:
                    return _Worker(self._ctx, self.memory_mb)
                except BaseException:
                    self._started -= 1
                    raise
        return self._idle.get()

    def _give_back(self, worker: _Worker) -> None:
        self._idle.put(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._started -= 1
            self.replaced += 1

    def run(self, mode: str, source: str, context: dict, external: dict | None, helpers: dict[str, Callable],
            limits: ScriptLimits):
        """Run `source` ("exec" or "eval") in a worker; `context` and `external` are updated in place
        as the sandbox would have (also when the script fails). The expression's value, or raises."""
        job = ("run", mode, source, context, external or {}, sorted(helpers), limits)
        worker = self._take()
        try:
            worker.conn.send(job)
        except Exception as exc:          # something in the task data cannot travel
            self._give_back(worker)
            raise ScriptForbidden(f"the task data cannot be handed to the script worker: {exc}") from None
        except BaseException:
            self._discard(worker)
            raise
        deadline = time.monotonic() + self.wall_seconds(limits)
        try:
            while True:
                if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    raise _Overrun(ScriptTimeout(f"the script exceeded its time limit of {limits.timeout_seconds:g} s "
                                                 "and was stopped"))
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    raise _Overrun(_death(worker)) from None
                if message[0] == "call":
                    started = time.monotonic()
                    worker.conn.send(_call(helpers, *message[1:]))
                    deadline += time.monotonic() - started      # the parent's time is not the script's
                    continue
                break
        except _Overrun as overrun:
            self._discard(worker)
            log.warning("script worker stopped: %s", overrun.error)
            raise overrun.error from None
        except BaseException:
            self._discard(worker)
            raise
        self._give_back(worker)
        _, new_context, new_external, outcome = message
        if new_context is not None:
            context.clear()
            context.update(new_context)
        if external is not None and new_external is not None:
            external.clear()
            external.update(new_external)
        if message[0] == "done":
            return outcome
        raise _rebuilt(outcome)

    def wall_seconds(self, limits: ScriptLimits) -> float:
        return limits.timeout_seconds * 2 + self.grace_seconds

    def close(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.kill()
            with self._lock:
                self._started -= 1


class _Overrun(Exception):
    def __init__(self, error: ScriptError):
        super().__init__(str(error))
        self.error = error


def _death(worker: _Worker) -> ScriptError:
    worker.process.join(5)
    if worker.process.exitcode == -signal.SIGXCPU:
        return ScriptTimeout("the script exceeded its CPU time limit and was stopped")
    return ScriptTooLarge(f"the script worker ended (exit code {worker.process.exitcode}): "
                          "the script used more memory than allowed")


def _call(helpers: dict[str, Callable], name: str, args: tuple, kwargs: dict):
    try:
        return ("ret", helpers[name](*args, **kwargs))
    except Exception as exc:
        try:
            import pickle
            pickle.dumps(exc)
            return ("raise", exc)
        except Exception:
            return ("raise", RuntimeError(str(exc)))


def _rebuilt(outcome) -> BaseException:
    kind, payload, message, line = outcome
    if kind in _ERRORS:
        return _ERRORS[kind](message, line)
    error = payload if isinstance(payload, BaseException) else RuntimeError(message)
    error.script_line = line
    return error


# --- the worker process -----------------------------------------------------------------------------

def _worker_main(conn, memory_mb: int | None) -> None:
    import pickle
    import resource

    from .integration import SandboxedEnvironment
    from .tracer import _script_line

    signal.signal(signal.SIGINT, signal.SIG_IGN)       # ^C stops the server, which ends its workers
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    while True:
        try:
            _, mode, source, context, external, names, limits = conn.recv()
        except (EOFError, OSError):
            return
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + limits.timeout_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        env = SandboxedEnvironment({name: functools.partial(_remote, conn, name) for name in names}, limits)
        try:
            if mode == "exec":
                env.execute(source, context, external)
                reply = ("done", context, external, None)
            else:
                reply = ("done", context, external, env.evaluate(source, context, external))
        except BaseException as err:                    # MemoryError too: answered, the worker lives on
            line = err.line if isinstance(err, ScriptError) else _script_line(err.__traceback__)
            kind = type(err).__name__ if type(err) in _ERRORS.values() else "other"
            err.__traceback__ = None
            try:
                pickle.dumps(err)
                payload = err
            except Exception:
                payload = None
            message = err.message if isinstance(err, ScriptError) else str(err)
            reply = ("fail", context, external, (kind, payload, message, line))
        try:
            conn.send(reply)
        except Exception as exc:                        # a value that cannot travel back
            conn.send(("fail", None, None, ("ScriptForbidden", None,
                                            f"the script's result cannot be returned: {exc}", None)))


def _remote(conn, name: str, *args, **kwargs):
    conn.send(("call", name, args, kwargs))
    kind, value = conn.recv()
    if kind == "raise":
        raise value
    return value


_shared: dict[tuple, ScriptPool] = {}
_shared_lock = threading.Lock()


def shared_pool(size: int = 2, memory_mb: int | None = 1024) -> ScriptPool:
    """The process's pool of that size (workers hold no state: every engine of the process shares them)."""
    with _shared_lock:
        key = (size, memory_mb)
        if key not in _shared:
            _shared[key] = ScriptPool(size, memory_mb)
        return _shared[key]
