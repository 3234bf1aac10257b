"""The engine's service layer: one function per use case, one transaction each.

    engine = Engine.from_settings(Settings.from_env())
    engine.deploy([SourceFile('x.bpmn', xml)], deployed_by='admin')
    view = engine.start('x', started_by='alice', data={...})
    engine.complete_task(view.tasks[0]['id'], user='alice', data={...})
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import clock as clockmod
from . import history, instances, spiff  # noqa: F401  (spiff: installs the library fixes)
from .config import Settings
from .db import create_db_engine, read_transaction, write_transaction
from .errors import Invalid, NotFound, Problem, TaskAlreadyCompleted, TaskClaimedByOther, TaskNotReady
from .forms import FormCatalog
from .registry import Registry
from .sandbox import ScriptLimits, SandboxedScriptEngine
from .schema import event, human_task, incident, instance_task, process_instance, process_version
from .validation import SourceFile

log = logging.getLogger(__name__)

ENGINE_ERRORS = (SpiffWorkflowException, WorkflowException)


@dataclass
class InstanceView:
    id: str
    process_key: str
    version: int
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    tasks: list[dict]
    waiting: list[dict]
    incidents: list[dict]
    data: dict

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["started_at"] = self.started_at.isoformat()
        d["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return d


class Engine:
    def __init__(self, db: sa.Engine, forms: FormCatalog, clock=None, ids=None, *,
                 script_limits: ScriptLimits = ScriptLimits(), cache_size: int = 2000,
                 verify_persistence: bool = False):
        self.db = db
        self.clock = clock or clockmod.SystemClock()
        self.ids = ids or clockmod.IdSource()
        self.forms = forms
        self.registry = Registry(db, forms, self.clock)
        self.cache = instances.InstanceCache(cache_size)
        self.verify_persistence = verify_persistence
        self.before_commit: Callable[[str], None] | None = None   # test hook: hold a transaction open
        self.script_engine = SandboxedScriptEngine(helpers=self._script_helpers(), limits=script_limits)

    @classmethod
    def from_settings(cls, settings: Settings, clock=None, ids=None) -> "Engine":
        return cls(create_db_engine(settings.database_url), FormCatalog(settings.forms_dir), clock, ids,
                   script_limits=ScriptLimits(timeout_seconds=settings.script_timeout_seconds),
                   cache_size=settings.cache_size, verify_persistence=settings.verify_persistence)

    def _script_helpers(self) -> dict[str, Callable]:
        return {"now": lambda: self.clock.now()}

    # -- deploy -------------------------------------------------------------------------------
    def deploy(self, files: list[SourceFile], deployed_by: str, note: str | None = None):
        with clockmod.using(self.clock, self.ids):
            return self.registry.deploy(files, deployed_by, note)

    # -- instances ----------------------------------------------------------------------------
    def start(self, process_key: str, *, started_by: str, version: int | None = None,
              business_key: str | None = None, data: dict | None = None) -> InstanceView:
        data = _check_data(data)
        with clockmod.using(self.clock, self.ids):
            with write_transaction(self.db) as conn:
                version_id = self.registry.resolve(conn, process_key, version)
                loaded = self.registry.load(conn, version_id)
                now = self.clock.now()
                iid = str(self.ids.uuid())
                wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
                start_task = wf.task_tree
                start_task.data.update(data)
                outcome = instances.StepOutcome(now, started_by, [history.NewEvent(
                    "instance_started", data={"process_key": process_key, "version": loaded.version,
                                              "version_id": loaded.id, "business_key": business_key,
                                              "data": _convert(data), "clock": now.isoformat()})])
                live = instances.LiveInstance(iid, loaded, wf, instances.store.Snapshot(), 0, 0,
                                              history.GENESIS, "active", header={
                                                  "process_key": process_key, "business_key": business_key,
                                                  "started_by": started_by, "started_at": now, "ended_at": None})
                outcome.error = _run_engine(wf)
                instances.persist(conn, live, outcome, self._evaluate, new_row={
                    "id": iid, "process_version_id": loaded.id, "process_key": process_key,
                    "business_key": business_key, "started_by": started_by, "started_at": now})
                if self.verify_persistence:
                    self._check_roundtrip(conn, live)
                view = self._view(live)
            self.cache.put(live)
        return view

    def complete_task(self, task_id: str, *, user: str, data: dict | None = None) -> InstanceView:
        data = _check_data(data)

        def action(conn, live, outcome):
            row = _human_row(conn, live, task_id)
            task = _ready_task(live, task_id, row)
            if row.assignee and row.assignee != user:
                raise TaskClaimedByOther(f"task {task_id} is claimed by {row.assignee}", assignee=row.assignee)
            outcome.events.append(history.NewEvent("task_completed", task_id=task_id,
                                                   element_id=task.task_spec.bpmn_id, data={"data": _convert(data)}))
            outcome.completed_by[task_id] = user
            task.data.update(data)
            task.run()
            outcome.error = _run_engine(live.wf)

        return self._operate(None, user, action, task_id=task_id)

    def claim(self, task_id: str, *, user: str) -> dict:
        return self._set_assignee(task_id, user, user, "task_claimed")

    def unclaim(self, task_id: str, *, user: str) -> dict:
        return self._set_assignee(task_id, user, None, "task_unclaimed")

    def _set_assignee(self, task_id: str, user: str, assignee: str | None, event_type: str) -> dict:
        def action(conn, live, outcome):
            row = _human_row(conn, live, task_id)
            task = _ready_task(live, task_id, row)
            if assignee is not None and row.assignee not in (None, user):
                raise TaskClaimedByOther(f"task {task_id} is already claimed by {row.assignee}", assignee=row.assignee)
            if assignee is None and row.assignee != user:
                raise TaskClaimedByOther(f"task {task_id} is not claimed by {user}", assignee=row.assignee)
            claimed_at = outcome.now if assignee else None
            conn.execute(human_task.update().where(human_task.c.id == task_id).values(
                assignee=assignee, claimed_at=claimed_at))
            live.human[task_id].update(assignee=assignee, claimed_at=claimed_at)
            outcome.events.append(history.NewEvent(event_type, task_id=task_id, element_id=task.task_spec.bpmn_id))

        view = self._operate(None, user, action, task_id=task_id)
        return next(t for t in view.tasks if t["id"] == task_id)

    def retry(self, instance_id: str, *, user: str, data: dict | None = None) -> InstanceView:
        """Re-run the failed tasks of an instance in error, after merging `data` into their input."""
        data = _check_data(data)

        def action(conn, live, outcome):
            failed = [t for t in instances.store.all_tasks(live.wf) if t.state == TaskState.ERROR]
            if not failed:
                raise TaskNotReady(f"instance {instance_id} has no failed task to retry")
            outcome.events.append(history.NewEvent("instance_retried", data={"data": _convert(data)}))
            for task in failed:
                live.wf.reset_from_task_id(task.id)     # READY again, with its parent's data
                task.data.update(data)                  # then the operator's correction on top
                live.incidents.pop(str(task.id), None)
            conn.execute(incident.update().where(incident.c.instance_id == instance_id,
                                                 incident.c.resolved_at.is_(None))
                         .values(resolved_at=outcome.now, resolved_by=user))
            outcome.error = _run_engine(live.wf)

        return self._operate(instance_id, user, action)

    def fire_due_timers(self, limit: int = 500) -> int:
        """Fire every timer due by now (never early), oldest first. Returns how many instances moved."""
        from .schema import timer
        now = self.clock.now()
        with read_transaction(self.db) as conn:
            due = conn.execute(sa.select(timer.c.instance_id, sa.func.min(timer.c.due_at).label("due"))
                               .where(timer.c.due_at <= now).group_by(timer.c.instance_id)
                               .order_by("due").limit(limit)).all()
        fired = 0
        for row in due:
            def action(conn, live, outcome):
                live.wf.refresh_timers()
                outcome.error = _run_engine(live.wf)
            try:
                self._operate(row.instance_id, "scheduler", action)
                fired += 1
            except NotFound:
                continue
        return fired

    # -- the unit of work ---------------------------------------------------------------------
    def _operate(self, instance_id: str | None, actor: str, action, *, task_id: str | None = None) -> InstanceView:
        """Lock the instance (found by id, or by one of its tasks), run `action`, persist, commit."""
        with clockmod.using(self.clock, self.ids):
            with write_transaction(self.db) as conn:
                if instance_id is None:
                    _check_uuid(task_id, "task_id")
                    row = conn.execute(_LOCK_BY_TASK, {"task_id": task_id}).one_or_none()
                    if row is None:
                        raise NotFound(f"task {task_id} not found", field="task_id")
                else:
                    _check_uuid(instance_id, "instance_id")
                    row = instances.lock_instance(conn, instance_id)
                live = self.cache.take(row.id, row.revision)
                if live is None:
                    live = instances.load(conn, row, self.registry.load(conn, row.process_version_id),
                                          self.script_engine)
                outcome = instances.StepOutcome(self.clock.now(), actor)
                action(conn, live, outcome)
                instances.persist(conn, live, outcome, self._evaluate)
                if self.verify_persistence:
                    self._check_roundtrip(conn, live)
                if self.before_commit is not None:
                    self.before_commit(row.id)
                view = self._view(live)
            self.cache.put(live)
        return view

    def _view(self, live) -> InstanceView:
        """The instance as it stands after an operation, from memory (no extra queries)."""
        h = live.header
        data: dict = {}
        if live.status in ("completed", "cancelled"):
            data = live.wf.data
        else:
            for t in live.frontier:
                data.update(t.data)
        tasks = sorted((_task_dict(r) for r in live.human.values()), key=lambda t: (t["created_at"], t["id"]))
        waiting = [{"id": str(t.id), "element_id": t.task_spec.name, "state": TaskState.get_name(t.state)}
                   for t in live.frontier if t.state in (TaskState.WAITING, TaskState.ERROR)]
        return InstanceView(live.id, h["process_key"], live.version.version, h["business_key"], live.status,
                            h["started_by"], h["started_at"], h["ended_at"], tasks, waiting,
                            [_incident_dict(i) for i in live.incidents.values()], _convert(data))

    def _evaluate(self, task, expression: str):
        return self.script_engine.evaluate(task, expression)

    def _check_roundtrip(self, conn, live) -> None:
        """Debug/test mode: a cold load of what was just written must equal the live workflow."""
        row = conn.execute(sa.select(process_instance).where(process_instance.c.id == live.id)).one()
        cold = instances.load(conn, row, live.version, self.script_engine)
        def frontier(wf):
            return sorted((str(t.id), t.task_spec.name, t.state, spiff.dumps(spiff.registry.clean(t.data)))
                          for t in instances.store.all_tasks(wf) if t.state & TaskState.NOT_FINISHED_MASK
                          and not t.state & instances.store.NOT_STORED)
        def predicted(wf):
            return sorted((t.task_spec.name, t.state) for t in instances.store.all_tasks(wf)
                          if t.state & instances.store.NOT_STORED)
        a, b = frontier(live.wf), frontier(cold.wf)
        if a != b or predicted(live.wf) != predicted(cold.wf) or cold.open_human != live.open_human \
                or cold.timers != live.timers:
            raise AssertionError(f"persistence round trip differs for {live.id}:\nlive={a}\ncold={b}\n"
                                 f"predicted live={predicted(live.wf)}\npredicted cold={predicted(cold.wf)}")

    # -- queries ------------------------------------------------------------------------------
    def show(self, instance_id: str) -> InstanceView:
        _check_uuid(instance_id, "instance_id")
        with read_transaction(self.db) as conn:
            row = conn.execute(sa.select(process_instance, process_version.c.version)
                               .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                               .where(process_instance.c.id == instance_id)).one_or_none()
            if row is None:
                raise NotFound(f"instance {instance_id} not found", field="instance_id")
            tasks = [_task_dict(r) for r in conn.execute(
                sa.select(human_task).where(human_task.c.instance_id == instance_id, human_task.c.status == "open")
                .order_by(human_task.c.created_at, human_task.c.id))]
            c = instance_task.c
            frontier = conn.execute(sa.select(c.id, c.spec_name, c.state, c.data_json).where(
                c.instance_id == instance_id,
                c.state.in_([TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR]))
                .order_by(c.seq)).all()
            incidents = [_incident_dict(r) for r in conn.execute(
                sa.select(incident).where(incident.c.instance_id == instance_id, incident.c.resolved_at.is_(None)))]
        data: dict = {}
        if row.status in ("completed", "cancelled"):
            import json
            data = json.loads(row.workflow_json)["top"]["data"]
        else:
            for f in frontier:
                data.update(spiff.loads(f.data_json))
        waiting = [{"id": f.id, "element_id": f.spec_name, "state": TaskState.get_name(f.state)}
                   for f in frontier if f.state in (TaskState.WAITING, TaskState.ERROR)]
        return InstanceView(row.id, row.process_key, row.version, row.business_key, row.status, row.started_by,
                            row.started_at, row.ended_at, tasks, waiting, incidents,
                            _convert(data))

    def task(self, task_id: str) -> dict:
        _check_uuid(task_id, "task_id")
        with read_transaction(self.db) as conn:
            row = conn.execute(sa.select(human_task).where(human_task.c.id == task_id)).one_or_none()
        if row is None:
            raise NotFound(f"task {task_id} not found", field="task_id")
        return _task_dict(row)

    def list_tasks(self, *, user: str | None = None, status: str = "open", limit: int = 200) -> list[dict]:
        q = sa.select(human_task).where(human_task.c.status == status)
        if user:
            q = q.where(human_task.c.assignee == user)
        q = q.order_by(human_task.c.due_at.is_(None), human_task.c.due_at, human_task.c.priority,
                       human_task.c.created_at).limit(limit)
        with read_transaction(self.db) as conn:
            return [_task_dict(r) for r in conn.execute(q)]

    def incidents(self, *, open_only: bool = True) -> list[dict]:
        q = sa.select(incident).order_by(incident.c.id)
        if open_only:
            q = q.where(incident.c.resolved_at.is_(None))
        with read_transaction(self.db) as conn:
            return [_incident_dict(r) for r in conn.execute(q)]

    def events(self, instance_id: str) -> list[dict]:
        _check_uuid(instance_id, "instance_id")
        import json
        with read_transaction(self.db) as conn:
            rows = conn.execute(sa.select(event).where(event.c.chain == instance_id).order_by(event.c.seq)).all()
        return [{"seq": r.seq, "type": r.type, "at": r.at.isoformat(), "actor": r.actor, "task_id": r.task_id,
                 "element_id": r.element_id, "data": json.loads(r.data_json), "hash": r.hash} for r in rows]


def _run_engine(wf) -> Exception | None:
    """Run engine steps to the next wait state, firing timers that are due by the clock.

    SpiffWorkflow refreshes timers at the end of `do_engine_steps` but runs a fired timer's path
    only on the next call, so we repeat while the refresh fired something. A failure leaves its
    task in ERROR, which `persist` turns into an incident.
    """
    watch = _TimerWatch(wf)
    wf.refresh_timers = watch
    try:
        watch()
        while True:
            watch.fired = False
            wf.do_engine_steps()
            if not watch.fired:
                return None
    except ENGINE_ERRORS as exc:
        log.info("engine step failed: %s", exc)
        return exc
    finally:
        del wf.refresh_timers


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


def _human_row(conn, live, task_id: str):
    """The inbox row of a task: from the live instance when open, else from the database."""
    cached = live.human.get(task_id)
    if cached is not None:
        return _Row(cached)
    row = conn.execute(sa.select(human_task).where(human_task.c.id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} not found", field="task_id")
    return row


class _Row:
    def __init__(self, d: dict):
        self.__dict__.update(d)


_LOCK_BY_TASK = (sa.select(process_instance)
                 .where(process_instance.c.id == sa.select(human_task.c.instance_id)
                        .where(human_task.c.id == sa.bindparam("task_id")).scalar_subquery())
                 .with_for_update())


def _ready_task(live, task_id: str, row):
    if row.status == "completed":
        raise TaskAlreadyCompleted(f"task {task_id} was already completed by {row.completed_by}",
                                   completed_by=row.completed_by)
    if row.status != "open":
        raise TaskNotReady(f"task {task_id} is {row.status}, not open")
    try:
        task = live.wf.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        raise NotFound(f"task {task_id} not found", field="task_id") from None
    if task.state != TaskState.READY:
        raise TaskNotReady(f"task {task_id} is {TaskState.get_name(task.state)}, not READY")
    return task


def _check_data(data) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Invalid("data must be a JSON object", [Problem("expected a JSON object", field="data")])
    bad = [k for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad:
        raise Invalid("data has keys that are not valid variable names",
                      [Problem(f"'{k}' is not a valid variable name", field=f"data.{k}") for k in bad])
    return data


def _check_uuid(value: str, field: str) -> None:
    try:
        UUID(str(value))
    except ValueError:
        raise NotFound(f"{field.replace('_', ' ')} '{value}' is not a valid id", field=field) from None


def _convert(value):
    return spiff.registry.convert(spiff.registry.clean(value))


def _task_dict(r) -> dict:
    d = dict(r) if isinstance(r, dict) else dict(r._mapping)
    for k in ("created_at", "due_at", "claimed_at", "completed_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d


def _incident_dict(r) -> dict:
    d = dict(r) if isinstance(r, dict) else dict(r._mapping)
    for k in ("created_at", "resolved_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d
