"""Run time: the trace function that bounds CPU time and memory of the running script."""
from __future__ import annotations


import inspect
import os
import sys
import threading
import time
from types import CodeType
from typing import Any, Callable


from .errors import SCRIPT_FILENAME, ScriptError, ScriptLimits, ScriptTimeout, ScriptTooLarge

# -- run time: the trace function ------------------------------------------------------------

_CHECK_EVERY = 64                 # trace events between two looks at the clock
_MEMORY_CHECK_INTERVAL = 0.005    # CPU seconds between two looks at the process size
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None   # not Linux: no memory backstop, the other limits still hold
    try:
        return int(os.read(fd, 128).split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None
    finally:
        os.close(fd)


class _Run:
    """One evaluation in progress on this thread."""

    __slots__ = ("limits", "max_items", "deadline", "fatal", "memory_cap", "next_memory_check", "tracer")

    def __init__(self, limits: ScriptLimits):
        self.limits = limits
        self.max_items = limits.max_items
        self.deadline = time.thread_time() + limits.timeout_seconds
        self.fatal: ScriptError | None = None
        self.memory_cap: int | None = None
        self.next_memory_check = 0.0
        self.tracer = _tracer(self)

    def check(self) -> None:
        now = time.thread_time()
        if now > self.deadline:
            self.stop(ScriptTimeout(f"the script exceeded its time limit of {self.limits.timeout_seconds:g} s"))
        megabytes = self.limits.max_memory_mb
        if megabytes is not None and now >= self.next_memory_check:
            self.next_memory_check = now + _MEMORY_CHECK_INTERVAL
            resident = _resident_bytes()
            if resident is None:
                return
            if self.memory_cap is None:   # first look (after _CHECK_EVERY events): the baseline
                self.memory_cap = resident + megabytes * 2**20
            elif resident > self.memory_cap:
                self.stop(ScriptTooLarge(f"the script used more than {megabytes} MB of memory"))

    def stop(self, error: ScriptError) -> None:
        self.fatal = error
        raise error


class _State(threading.local):
    run: _Run | None = None
    max_items: int = ScriptLimits.max_items   # the guards' hot path reads it directly


_state = _State()
# Frames of the sandbox's own code (its guards) are not traced line by line.
_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


_GENERATOR = inspect.CO_GENERATOR


def _tracer(run: _Run) -> Callable:
    countdown = _CHECK_EVERY

    def trace(frame, event, arg):
        nonlocal countdown
        countdown -= 1
        if countdown <= 0:
            # Never raise on a generator's call/exception/return events: those also happen when
            # a generator is closed on garbage collection, where Python swallows the error
            # (after switching tracing off). Its lines, and every other call, are safe places.
            if event == "line" or not frame.f_code.co_flags & _GENERATOR:
                countdown = _CHECK_EVERY
                run.check()
        if event == "call" and frame.f_code.co_filename.startswith(_OWN_DIR):
            return None   # our guards: their calls count, their lines need no tracing
        return trace
    return trace


def _script_line(tb) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == SCRIPT_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _run(code: CodeType, scope: dict, limits: ScriptLimits) -> Any:
    """Run compiled code under the limits, tracing this thread only while it runs."""
    run = _Run(limits)
    outer, outer_max = _state.run, _state.max_items
    previous = sys.gettrace()   # a debugger's or coverage's tracer, put back afterwards
    _state.run, _state.max_items = run, limits.max_items
    sys.settrace(run.tracer)
    try:
        result = eval(code, scope)
        _check_()   # a time-out raised in a generator's clean-up is swallowed by Python: not final
        return result
    except ScriptError as err:
        if err.line is None:
            err.line = _script_line(err.__traceback__)
        raise
    finally:
        sys.settrace(previous)
        _state.run, _state.max_items = outer, outer_max


def _check_() -> None:
    """Keep the limits on. Python switches a trace function off when it raises (our time-out)
    or cannot be called (a RecursionError at the stack's limit). So: at the top of every except
    and finally block, a time-out is raised again (the script cannot catch it and carry on);
    and each loop pass and function call that finds tracing off (see `_Policy._alive`) puts
    the trace function back, on the running frames too."""
    run = _state.run
    if run is None:
        return
    if run.fatal is not None:
        raise type(run.fatal)(run.fatal.message)
    if sys.gettrace() is None:
        sys.settrace(run.tracer)
        frame = sys._getframe(1)
        while frame is not None and frame.f_code is not _run.__code__:
            if frame.f_trace is None and not frame.f_code.co_filename.startswith(_OWN_DIR):
                frame.f_trace = run.tracer
            frame = frame.f_back
