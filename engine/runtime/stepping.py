"""Running SpiffWorkflow for an engine operation, guarded and bounded.

Everything an operation asks of the library — running the task a user completes, the engine steps
to the next wait state, resetting failed tasks for a retry — runs inside `run_engine`, which
promises three things:

- Any failure of the diagram, its data or its scripts ends on a task: the task the library names,
  else the one its traceback was working on (`my_task`), else the one being run. That task is put
  in ERROR, so `persist` writes an incident on its element and the instance is in error — never
  `completed` with work silently skipped, whatever the exception's type.
- The engine's own refusals (`EngineError`, e.g. an operator's `Invalid`) and `Abort`s end the whole
  operation: nothing is written. So does missing data the user could have submitted for the task
  being completed (`Invalid` naming the element and the variable).
- An operation is bounded: after `StepLimits.max_steps` engine steps, or `max_seconds` on its
  monotonic clock, the task about to run is put in ERROR with a message naming the elements that
  kept repeating — a loop without a wait state, a call activity calling its own process — instead of
  running for ever inside the write transaction.
"""
from __future__ import annotations

import logging
import time
import traceback
import weakref
from collections import Counter, deque
from copy import deepcopy
from dataclasses import dataclass
from typing import Callable

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine.bpmn import spiff
from engine.errors import EngineError, Invalid, Problem
from engine.runtime import connectors

log = logging.getLogger(__name__)


class _Operation:
    """`with` block binding the operation for the service tasks run inside it."""

    def __init__(self, op: connectors.Operation):
        self.op = op
        self.events = op.events

    def __enter__(self):
        self._token = connectors.begin(self.op)
        return self

    def __exit__(self, *exc):
        connectors.end(self._token)
        return False


class Abort(Exception):
    """Ends the whole operation rather than a task (e.g. a replay that diverged): never an incident."""


@dataclass(frozen=True)
class StepLimits:
    """The bound of one operation: engine steps, and seconds on `monotonic` (injectable for tests)."""

    max_steps: int = 10_000
    max_seconds: float = 10.0
    monotonic: Callable[[], float] = time.monotonic


class StepLimitExceeded(Exception):
    """The operation reached its bound before a wait state (the message names the loop)."""

    def __init__(self, task, message: str):
        super().__init__(message)
        self.task = task


class _Budget:
    """Counts the engine steps of one operation (SpiffWorkflow calls it before each task it runs)."""

    def __init__(self, limits: StepLimits):
        self.limits = limits
        self.steps = 0
        self.began = limits.monotonic()
        self.recent: deque[str] = deque(maxlen=200)
        self.current = None          # the task being run, for failures that name none

    def __call__(self, task) -> None:
        self.current = task
        self.recent.append(_element(task))
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise StepLimitExceeded(task, f"the operation stopped after {self.limits.max_steps} engine steps "
                                          f"without reaching a wait state: {self._loop(task)}")
        elapsed = self.limits.monotonic() - self.began
        if elapsed > self.limits.max_seconds:
            raise StepLimitExceeded(task, f"the operation stopped after {self.limits.max_seconds:g} s "
                                          f"({self.steps} engine steps) without reaching a wait state: "
                                          f"{self._loop(task)}")

    def _loop(self, task) -> str:
        """Which elements kept running: the loop, and the call activity that keeps calling itself."""
        counts = Counter(self.recent)
        looping = [e for e in dict.fromkeys(self.recent) if counts[e] > 1]
        callers = _callers(task)
        said = []
        if looping:
            said.append(f"{' → '.join(looping)} kept repeating")
        else:
            said.append(f"the last elements run were {' → '.join(list(self.recent)[-10:])}")
        repeated = [c for c, n in Counter(callers).items() if n > 1]
        if repeated:
            said.append(f"inside call activity {', '.join(repeated)} calling its own process "
                        f"({len(callers)} calls deep)")
        return "; ".join(said) + (" — a loop with no user task, timer or message to wait for never ends "
                                  "within one operation")


def _callers(task) -> list[str]:
    """The call activities (and subprocesses) a task runs inside, innermost first."""
    found = []
    wf = task.workflow
    top = getattr(wf, "top_workflow", wf)
    while getattr(wf, "parent_task_id", None) is not None and len(found) < 1000:
        caller = top.get_task_from_id(wf.parent_task_id)
        found.append(_element(caller))
        wf = caller.workflow
    return found


def run_engine(wf, limits: StepLimits = StepLimits(), *, first: Callable[[], object] | None = None,
               submitted=None) -> Exception | None:
    """Run `first` (e.g. the completed task's `run`), then engine steps to the next wait state, firing
    timers that are due by the clock; the failure, if any, after putting its task in ERROR.

    SpiffWorkflow refreshes timers at the end of `do_engine_steps` but runs a fired timer's path
    only on the next call, so we repeat while the refresh fired something. `submitted`: the task
    whose completion this is — missing data of its own is the submitter's to give (Invalid).
    """
    budget = _Budget(limits)
    watch = _TimerWatch(wf)
    wf.refresh_timers = watch
    try:
        if first is not None:
            budget.current = submitted
            first()
        watch()
        while True:
            watch.fired = False
            wf.do_engine_steps(will_complete_task=budget)
            if not watch.fired:
                return None
    except (EngineError, Abort):
        raise
    except Exception as exc:  # noqa: BLE001 - user-supplied BPMN, data and scripts may fail in any way
        task = _task_concerned(exc, wf, budget.current)
        if isinstance(exc, WorkflowDataException) and task is not None and task is submitted:
            raise _missing_submission(exc, task) from exc
        if task is None:
            log.warning("engine step failed on no task: %r", exc)
            raise Invalid(f"the process cannot go on: {describe(exc)}",
                          [Problem(describe(exc), code="engine_error")]) from exc
        log.info("engine step failed on %s: %s", _element(task), exc)
        if task.state != TaskState.ERROR:
            task._set_state(TaskState.ERROR)
        return exc
    finally:
        del wf.refresh_timers


def ready_human(wf) -> frozenset:
    """The ids of the human tasks ready now (whose inbox rows, and due dates, already exist)."""
    return frozenset(t.id for t in wf.get_tasks(state=TaskState.READY, manual=True))


def has_due_dates(wf) -> bool:
    """Whether a task of the workflow's process, or of a process it calls, has a `dueIn` (a due date
    to compute): learned once per process version (its specs are shared by all its instances)."""
    spec = wf.spec
    found = _DUE_DATES.get(spec)
    if found is None:
        found = _DUE_DATES[spec] = any(
            "dueIn" in spiff.task_properties_of(ts)
            for s in (spec, *getattr(wf, "subprocess_specs", {}).values()) for ts in s.task_specs.values())
    return found


_DUE_DATES: "weakref.WeakKeyDictionary[object, bool]" = weakref.WeakKeyDictionary()


def ready_before(wf) -> frozenset | None:
    """What `check_due_dates` is told after the steps: the human tasks ready before them (their due
    dates are set), or None when no task of the process has a due date — then neither walks the tree."""
    return ready_human(wf) if has_due_dates(wf) else None


def check_due_dates(wf, policy, known: frozenset | None = frozenset()) -> Exception | None:
    """A ready human task's due date is computed when its inbox row is written, after stepping; an
    expression that cannot be evaluated there (e.g. `working_days_from(letter_sent_on, 15)` before
    the letter's date is in the data) would fail the whole write. Evaluate the `dueIn` of each human
    task that became ready in this operation (not those of `known`, ready before it: their dates are
    set) now, and put a task whose expression fails in ERROR, so it becomes an incident on its
    element that retry resumes (with the missing data). `known` None: the process has no due dates
    (`ready_before`)."""
    if known is None:
        return None
    now = clockmod.current_clock().now()
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        if task.id in known:
            continue
        due_in = spiff.task_properties(task).get("dueIn")
        if not due_in:
            continue
        try:
            policy.deadlines.due(due_in, now, lambda e: policy.evaluate(task, e))
        except (EngineError, Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - a user-written expression may fail in any way
            log.info("due date of %s failed: %s", _element(task), exc)
            task._set_state(TaskState.ERROR)
            return exc
    return None


def retry_failed(wf, failed: list, data: dict, limits: StepLimits = StepLimits()) -> Exception | None:
    """Reset the `failed` tasks (READY again, with their parent's data and `data` on top), then run
    on — guarded like any step.

    A task is prepared again from its parent's data (a multi-instance reads its collection then), so
    the correction is laid over the parent's data while the task is reset, and taken off again: the
    parent, a finished task, keeps the data it finished with."""
    def reset():
        for task in failed:
            parent = task.parent
            saved = parent.data if parent is not None else None
            if parent is not None:
                parent.data = {**deepcopy(saved), **deepcopy(data)}
            try:
                wf.reset_from_task_id(task.id)
            finally:
                if parent is not None:
                    parent.data = saved
            task.data.update(deepcopy(data))
    return run_engine(wf, limits, first=reset)


def describe(exc: BaseException) -> str:
    """An exception as an incident says it: SpiffWorkflow's own message (with the variable a data
    error is about), else its type and text."""
    message = getattr(exc, "error", None)
    if isinstance(exc, WorkflowDataException):
        text = str(message or exc).strip().rstrip(".")
        name = getattr(_data_variable(exc, text), "bpmn_id", None)
        return f"{text}: {name}" if name else text
    if message:
        return str(message)
    if isinstance(exc, StepLimitExceeded) or type(exc).__module__.startswith("SpiffWorkflow"):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _element(task) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def _task_concerned(exc: BaseException, wf, running):
    """The task a failure happened on: the one the exception names, else the innermost `my_task` of
    its traceback (the library's convention), else the task being run."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        task = _ours(wf, getattr(exc, "task", None))
        if task is not None:
            return task
        for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
            task = _ours(wf, frame.f_locals.get("my_task"))
            if task is not None:
                return task
        exc = exc.__cause__ or exc.__context__
    return _ours(wf, running)


def _ours(wf, task):
    if not isinstance(task, Task):
        return None
    try:
        return task if wf.get_task_from_id(task.id) is task else None
    except TaskNotFoundException:
        return None


def _data_variable(exc: WorkflowDataException, text: str):
    """The variable a data error is about (the library passes both of a multi-instance's)."""
    given, other = getattr(exc, "data_input", None), getattr(exc, "data_output", None)
    if "input" not in text.lower():
        given, other = other, given
    return given or other


def _missing_submission(exc: WorkflowDataException, task) -> Invalid:
    name = getattr(_data_variable(exc, str(exc)), "bpmn_id", None)
    element = _element(task)
    what = f'"{name}"' if name else "data"
    return Invalid(f"{element}: the task needs {what}, which was not submitted",
                   [Problem(f"「{task.task_spec.bpmn_name or element}」缺少数据 {what}，请补充后再提交", field=name,
                            element_id=element, code="missing_data")])


class _TimerWatch:
    """Stands in for `wf.refresh_timers` and notes whether a timer fired."""

    def __init__(self, wf):
        self.wf = wf
        self.fired = False

    def __call__(self):
        waiting = list(self.wf.event_manager.tasks.values())
        type(self.wf).refresh_timers(self.wf)
        if any(t.state == TaskState.READY for t in waiting):
            self.fired = True
