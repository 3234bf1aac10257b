"""Two drivers for one driver script: raw SpiffWorkflow in memory, and the engine on a database.

Both answer an `Outcome`: the status, the path (completed elements, depth first through the task
tree and into subprocesses: the execution order of a sequence, a fixed order between branches),
the final data, and where it failed. A step that fails stops the run, as it would stop a user.
"""
from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine.bpmn import spiff
from engine.bpmn.validation import SourceFile
from engine.clock import FixedClock, IdSource
from engine.db.schema import instance_task
from engine.errors import EngineError, Invalid

DIAGRAMS = Path(__file__).resolve().parents[2] / "data" / "conformance"
INTERNAL = {"Root", "Start", "End"}   # SpiffWorkflow's own tasks around every (sub)workflow


# -- the driver script -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Complete:
    """Complete the ready human task of `element` (the one whose data holds `where`) with `data`,
    or with what `data(task_data)` gives."""
    element: str
    data: dict | Callable[[dict], dict] = field(default_factory=dict)
    where: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Advance:
    """Move the clock on, then run what is due (the engine: `fire_due_timers`, as the scheduler)."""
    delta: timedelta


@dataclass(frozen=True)
class Restart:
    """Drop everything in memory: the library serializes and deserializes; the engine opens a
    fresh Engine on the same database (a cold load)."""


@dataclass
class Outcome:
    status: str                     # completed | active | error | cancelled | raised | refused
    path: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    error_element: str | None = None
    error: str | None = None        # exception type and message, for the report

    def summary(self) -> str:
        return f"{self.status} at {self.error_element}: {self.error}" if self.error else self.status


def _normalise(name: str) -> str | None:
    """A task spec name as a BPMN element id, None for SpiffWorkflow's internal tasks."""
    if name in INTERNAL or name.endswith((".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")):
        return None
    return name.removesuffix(" [child]")


def _element_of(exc: EngineError) -> str | None:
    problems = getattr(exc, "problems", None) or []
    return problems[0].element_id if problems else getattr(exc, "details", {}).get("element_id")


def _data(value) -> dict:
    """Task data as the JSON it is stored as (dict keys become strings)."""
    return json.loads(json.dumps(spiff.registry.convert(spiff.registry.clean(dict(value))), default=str))


# -- raw SpiffWorkflow ---------------------------------------------------------------------------
class LibraryRun:
    """SpiffWorkflow's BpmnWorkflow in memory, with its own PythonScriptEngine (full Python)."""

    def __init__(self, files: tuple[str, ...], process: str, start):
        parser = SpiffBpmnParser()
        for name in files:
            parser.add_bpmn_file(str(DIAGRAMS / name))
        self.spec = parser.get_spec(process)
        self.subs = parser.get_subprocess_specs(process)
        self.clock = FixedClock(start)
        self.ids = IdSource(seed=11)
        self.script_engine = PythonScriptEngine()
        self.wf: BpmnWorkflow | None = None
        self.failure: Outcome | None = None

    def _guard(self, action) -> None:
        if self.failure is not None:
            return
        with clockmod.using(self.clock, self.ids):
            try:
                action()
            except Exception as exc:  # noqa: BLE001 - the behaviour under test
                self.failure = self._failed(exc)

    def _failed(self, exc: Exception) -> Outcome:
        errored = [t for t in self._all_tasks() if t.state == TaskState.ERROR] if self.wf else []
        task = getattr(exc, "task", None)
        spec = getattr(exc, "task_spec", None) or (task.task_spec if task is not None else None)
        element = (errored[0].task_spec.bpmn_id if errored else getattr(spec, "bpmn_id", None))
        status = "error" if errored else "raised"
        return Outcome(status, self._path(), {}, element, f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        """Engine steps to the next wait state; a timer that the refresh made due runs on the next pass."""
        for _ in range(100):
            self.wf.do_engine_steps()
            self.wf.refresh_timers()
            if not self.wf.get_tasks(state=TaskState.READY, manual=False):
                return

    def start(self, data: dict) -> None:
        def action():
            self.wf = BpmnWorkflow(self.spec, self.subs, script_engine=self.script_engine)
            self.wf.task_tree.data.update(data)
            self._run()
        self._guard(action)

    def step(self, step) -> None:
        if isinstance(step, Complete):
            self._guard(lambda: self._complete(step))
        elif isinstance(step, Advance):
            def action():
                self.clock.advance(step.delta)
                self._run()
            self._guard(action)
        elif isinstance(step, Restart):
            def action():
                text = spiff.serializer.serialize_json(self.wf)
                self.wf = spiff.serializer.deserialize_json(text)
                self.wf.script_engine = self.script_engine
            self._guard(action)

    def _complete(self, step: Complete) -> None:
        ready = [t for t in self.wf.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.bpmn_id == step.element
                 and all(t.data.get(k) == v for k, v in step.where.items())]
        if not ready:
            raise LookupError(f"no ready task {step.element} {step.where or ''}")
        task = ready[0]
        task.data.update(step.data(dict(task.data)) if callable(step.data) else step.data)
        task.run()
        self._run()

    def _all_tasks(self):
        yield from self.wf.tasks.values()
        for sp in self.wf.subprocesses.values():
            yield from sp.tasks.values()

    def _path(self) -> list[str]:
        if self.wf is None:
            return []
        path: list[str] = []

        def walk(task):
            name = _normalise(task.task_spec.name)
            if task.state == TaskState.COMPLETED and name:
                path.append(name)
            sub = self.wf.subprocesses.get(task.id)
            if sub is not None:
                walk(sub.task_tree)
            for child in task.children:
                walk(child)
        walk(self.wf.task_tree)
        return path

    def outcome(self) -> Outcome:
        if self.failure is not None:
            return self.failure
        if self.wf.is_completed():
            status = "completed" if self.wf.success else "cancelled"
            return Outcome(status, self._path(), _data(self.wf.data))
        data: dict = {}
        for t in self._all_tasks():
            if t.state & (TaskState.READY | TaskState.WAITING | TaskState.STARTED) and t.workflow is self.wf:
                data.update(t.data)
        return Outcome("active", self._path(), _data(data))


# -- the engine --------------------------------------------------------------------------------
class EngineRun:
    """The engine on the test database: deploy, start, complete, fire timers, restart."""

    def __init__(self, files: tuple[str, ...], process: str, make_engine: Callable, clock):
        self.make_engine = make_engine
        self.engine = make_engine()
        self.clock = clock
        self.process = process
        self.view = None
        self.failure: Outcome | None = None
        try:
            self.engine.deploy([SourceFile(n, (DIAGRAMS / n).read_bytes()) for n in files], deployed_by="admin")
        except Invalid as exc:
            self.failure = Outcome("refused", error_element=exc.problems[0].element_id if exc.problems else None,
                                   error=f"Invalid: {'; '.join(p.message for p in exc.problems)}")

    def _guard(self, action) -> None:
        if self.failure is not None:
            return
        try:
            action()
        except EngineError as exc:   # a 4xx: acceptable for bad input when it names the element
            self.failure = Outcome("refused", self._path(), {}, _element_of(exc), f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - anything else would be an HTTP 500: a bug
            self.failure = Outcome("raised", self._path(), {}, None, f"{type(exc).__name__}: {exc}\n"
                                   + "".join(traceback.format_exception(exc)[-3:]))

    def start(self, data: dict) -> None:
        def action():
            self.view = self.engine.start(self.process, started_by="conformance", data=data)
        self._guard(action)

    def step(self, step) -> None:
        if isinstance(step, Complete):
            self._guard(lambda: self._complete(step))
        elif isinstance(step, Advance):
            def action():
                self.clock.advance(step.delta)
                self.engine.fire_due_timers()
                self.view = self.engine.show(self.view.id)
            self._guard(action)
        elif isinstance(step, Restart):
            self.engine = self.make_engine()

    def _complete(self, step: Complete) -> None:
        for task in self.engine.show(self.view.id).tasks:
            if task.element_id != step.element:
                continue
            data = self._task_data(task.id)
            if all(data.get(k) == v for k, v in step.where.items()):
                given = step.data(data) if callable(step.data) else step.data
                self.view = self.engine.complete_task(task.id, user="conformance", data=given)
                return
        raise LookupError(f"no ready task {step.element} {step.where or ''}")

    def _task_data(self, task_id: str) -> dict:
        with self.engine.db.connect() as conn:
            text = conn.execute(sa.select(instance_task.c.data_json).where(instance_task.c.id == task_id)).scalar()
        return spiff.loads(text) if text else {}

    def _path(self) -> list[str]:
        if self.view is None:
            return []
        c = instance_task.c
        with self.engine.db.connect() as conn:
            rows = conn.execute(sa.select(c.id, c.workflow_id, c.parent_id, c.state, c.spec_name)
                                .where(c.instance_id == self.view.id).order_by(c.seq)).all()
        children: dict = {}
        roots: dict = {}
        for r in rows:
            if r.parent_id is None:
                roots[r.workflow_id] = r
            else:
                children.setdefault(r.parent_id, []).append(r)
        path: list[str] = []

        def walk(row):
            name = _normalise(row.spec_name)
            if row.state == TaskState.COMPLETED and name:
                path.append(name)
            if row.id in roots:
                walk(roots[row.id])
            for child in children.get(row.id, ()):
                walk(child)
        if None in roots:
            walk(roots[None])
        return path

    def outcome(self) -> Outcome:
        if self.failure is not None:
            return self.failure
        view = self.engine.show(self.view.id)       # from the database alone
        out = Outcome(view.status, self._path(), _data(view.data))
        if view.incidents:
            out.error_element = view.incidents[0].element_id
            out.error = view.incidents[0].message
        return out
