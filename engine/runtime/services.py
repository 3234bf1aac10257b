"""The engine's service layer: one function per use case, one transaction each.

    engine = Engine.from_settings(Settings.from_env())
    engine.deploy([SourceFile('x.bpmn', xml)], deployed_by='admin')
    view = engine.start('x', started_by='alice', data={...})
    engine.complete_task(view.tasks[0]['id'], user='alice', data={...})
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine import metrics
from engine import domains, history
from engine.runtime import connectors, human_tasks, instances
from engine.deadlines import reminders, periodic_starts as schedules, timers
from engine.bpmn import spiff  # noqa: F401
# (spiff installs the library fixes; domains registers the service operators and completion guards)
from engine.config import Settings
from engine.db.transactions import create_db_engine, read_transaction, write_transaction
from engine.errors import (
    ConcurrentUpdate,
    Invalid,
    NotFound,
    Problem,
    TaskAlreadyCompleted,
    TaskClaimedByOther,
    TaskNotReady,
)
from engine.forms import FormCatalog
from engine.bpmn.registry import Registry, process_infos
from engine.deadlines.due import Deadlines
from engine.deadlines.notifications import Mailer
from engine.deadlines.workdays import BEIJING
from engine.sandbox import ScriptLimits
from engine.runtime.stepping import EngineScripts, _Operation, _run_engine, end_of_day
from engine.db.schema import event, human_task, incident, instance_task, process_instance, process_version
from engine.bpmn.validation import SourceFile

log = logging.getLogger(__name__)


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
    fired_ids: list[str] = field(default_factory=list)   # timers this operation fired

    @property
    def fired(self) -> int:
        return len(self.fired_ids)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("fired_ids")
        d["started_at"] = self.started_at.isoformat()
        d["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return d


class Engine:
    def __init__(self, db: sa.Engine, forms: FormCatalog, clock=None, ids=None, *,
                 script_limits: ScriptLimits = ScriptLimits(), cache_size: int = 2000,
                 verify_persistence: bool = False, remind_before: str | None = "working_days(2)",
                 escalate_after: str = "working_days(2)", mailer=None):
        self.db = db
        self.clock = clock or clockmod.SystemClock()
        self.ids = ids or clockmod.IdSource()
        self.forms = forms
        forms.attach(db)          # forms edited in the browser are versions in this database
        self.registry = Registry(db, forms, self.clock)
        self.cache = instances.InstanceCache(cache_size)
        self.verify_persistence = verify_persistence
        self.before_commit: Callable[[str], None] | None = None   # test hook: hold a transaction open
        self.deadlines = Deadlines(db)
        self.mailer = mailer
        self.remind_before = remind_before
        self.escalate_after = escalate_after
        self.script_engine = EngineScripts(self, helpers=self._script_helpers(), limits=script_limits)
        self.registry.on_deployed = lambda conn, key, spec, now: schedules.register(conn, self.deadlines, key,
                                                                                     spec, now)

    @classmethod
    def from_settings(cls, settings: Settings, clock=None, ids=None) -> "Engine":
        return cls(create_db_engine(settings.database_url), FormCatalog(settings.forms_dir), clock, ids,
                   script_limits=ScriptLimits(timeout_seconds=settings.script_timeout_seconds),
                   cache_size=settings.cache_size, verify_persistence=settings.verify_persistence,
                   mailer=Mailer.from_env())

    def _script_helpers(self) -> dict[str, Callable]:
        def working_days(n):
            """The end of the n-th working day from now (Beijing time), on the hospital's calendar."""
            return self.deadlines.calendar().add_working_days(self.clock.now(), int(n)).due
        def working_days_from(start, n):
            """The end of the n-th working day after the date `start` (e.g. a clue's date of receipt)."""
            # the date itself is day 0: count from its last instant, not from 24:00 (= day 1)
            return self.deadlines.calendar().add_working_days(end_of_day(start) - timedelta(microseconds=1),
                                                              int(n)).due
        def monthly(day, shift="next_working_day", after=None):
            """End of the next `day` of a month (moved off holidays), e.g. the monthly report day.

            The month after `after` (a moment or ISO date; default now): a loop that passes its
            previous deadline visits every month, also those a stopped server slept through."""
            start = self.clock.now() if after is None else _moment(after, "after")
            return self.deadlines.calendar().monthly(int(day), start, shift=shift).due
        def staff_name(username):
            """A staff member's name (for task subjects), read in the operation's transaction."""
            return connectors.staff_name(str(username))
        return {"now": lambda: self.clock.now(), "working_days": working_days, "monthly": monthly,
                "working_days_from": working_days_from, "end_of_day": end_of_day, "staff_name": staff_name}

    def set_clock(self, clock) -> None:
        """Swap the clock (a drill database's virtual clock); the registry follows."""
        self.clock = clock
        self.registry.clock = clock

    # -- deploy -------------------------------------------------------------------------------
    def deploy(self, files: list[SourceFile], deployed_by: str, note: str | None = None):
        with clockmod.using(self.clock, self.ids):
            return self.registry.deploy(files, deployed_by, note)

    def process_info(self, process_key: str):
        """The latest version's own properties (start roles, start form, confidentiality), or NotFound."""
        with read_transaction(self.db) as conn:
            info = process_infos(conn, [process_key]).get(process_key)
        if info is None:
            raise NotFound(f"process {process_key} is not deployed", field="process_key")
        return info

    def process_infos(self) -> dict:
        with read_transaction(self.db) as conn:
            return process_infos(conn)

    # -- instances ----------------------------------------------------------------------------
    def start(self, process_key: str, *, started_by: str, version: int | None = None,
              business_key: str | None = None, data: dict | None = None, _period=None,
              within: Callable | None = None) -> InstanceView:
        """Start an instance. `within(conn, instance_id)` runs in the same transaction once the
        instance is written (e.g. to store what must stay out of the workflow data)."""
        data = _check_data(data)
        # The latest version as this node last saw it, checked in the write batch (no query first).
        hint = self.registry.latest_hint(process_key) if version is None else None
        with clockmod.using(self.clock, self.ids):
            if hint is not None:
                try:
                    return self._start(process_key, started_by, version, business_key, data, _period, hint,
                                       within)
                except instances.StaleVersion:     # a later version was deployed meanwhile
                    self.registry.forget_latest(process_key)
            return self._start(process_key, started_by, version, business_key, data, _period, None, within)

    def _start(self, process_key, started_by, version, business_key, data, _period, hint, within) -> InstanceView:
        with write_transaction(self.db) as conn:
            if _period is not None and not schedules.advance(conn, _period, self.deadlines):
                raise ConcurrentUpdate(f"the period {_period.next_at} of {process_key} was already started")
            live, started = self._create(conn, process_key, started_by, version, business_key, data, _period, hint,
                                         final=within is None)
            if within is not None:
                within(conn, live.id)
            view = self._view(live)
        self._verify(live, *started)
        for each in (live, *started):
            self.cache.put(each)
        return view

    def _create(self, conn, process_key, started_by, version, business_key, data, _period=None, hint=None,
                parent_id=None, iid=None, final=False):
        """Write a new instance run to its first wait state, then the children it started; returns
        (the instance, every instance it started, recursively). `final`: the caller writes nothing
        more in the transaction."""
        version_id = hint[0] if hint is not None else self.registry.resolve(conn, process_key, version)
        loaded = self.registry.load(conn, version_id)
        now = self.clock.now()
        iid = iid or str(self.ids.uuid())
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.script_engine)
        start_task = wf.task_tree
        start_task.data.update(data)
        if _period is not None:     # the period has come: its timer start event fires now
            for t in wf.get_tasks(spec_name=_period.element_id):
                t.internal_data["event_value"] = (now - timedelta(microseconds=1)).isoformat()
        outcome = instances.StepOutcome(now, started_by, [history.NewEvent(
            "instance_started", data={"process_key": process_key, "version": loaded.version,
                                      "version_id": loaded.id, "business_key": business_key,
                                      "data": _convert(data), "clock": now.isoformat(),
                                      **({"parent_id": parent_id} if parent_id else {})})])
        live = instances.LiveInstance(iid, loaded, wf, instances.store.Snapshot(), 0, 0,
                                      history.GENESIS, "active", header={
                                          "process_key": process_key, "business_key": business_key,
                                          "started_by": started_by, "started_at": now, "ended_at": None})
        op = self._operation(conn, live, started_by, now)
        with op:        # bound until written: due dates and subjects are evaluated while persisting
            outcome.error = _run_engine(wf)
            outcome.effects.extend(op.events)
            instances.persist(conn, live, outcome, self, new_row={
                "id": iid, "process_version_id": loaded.id, "process_key": process_key,
                "business_key": business_key, "started_by": started_by, "started_at": now,
                "parent_id": parent_id},
                guard=hint[1] if hint is not None else None, final=final and not op.op.children)
        return live, self._start_children(conn, op, started_by)

    def _operation(self, conn, live, actor: str, now) -> "_Operation":
        return _Operation(connectors.Operation(conn, now, actor, live.id, live.header["process_key"],
                                               live.header["business_key"], lambda: str(self.ids.uuid())))

    def _start_children(self, conn, op: "_Operation", actor: str) -> list:
        """The instances a service task asked for, written in the parent's transaction."""
        started = []
        for child in op.op.children:
            live, grandchildren = self._create(conn, child.process_key, actor, None, child.business_key,
                                               _check_data(child.data), parent_id=op.op.instance_id, iid=child.id)
            started += [live, *grandchildren]
        return started

    def complete_task(self, task_id: str, *, user: str, data: dict | None = None,
                      within: Callable | None = None, also: list | None = None) -> InstanceView:
        """Complete a ready task with the submitted data. A `completionGuard` of the task may refuse it
        (Invalid); `within(conn, instance_id)` runs in the same transaction, as for `start`; `also`:
        prepared (statement, parameters) pairs written with the completion's own rows."""
        data = _check_data(data)

        def action(conn, live, outcome):
            row = _human_row(conn, live, task_id)
            task = _ready_task(live, task_id, row)
            if row.assignee and row.assignee != user:
                raise TaskClaimedByOther(f"task {task_id} is claimed by {row.assignee}", assignee=row.assignee)
            props = human_tasks.properties(task)
            if props.get("completionGuard"):
                connectors.run_guard(props["completionGuard"].strip(), connectors.GuardContext(
                    conn, outcome.now, user, live.id, live.header["process_key"], live.header["business_key"],
                    task.task_spec.bpmn_id, dict(props), dict(task.data), dict(data)))
            outcome.events.append(history.NewEvent("task_completed", task_id=task_id,
                                                   element_id=task.task_spec.bpmn_id, data={"data": _convert(data)}))
            outcome.completed_by[task_id] = user
            task.data.update(data)
            task.run()
            outcome.error = _run_engine(live.wf)

        began = time.perf_counter()
        view = self._operate(None, user, action, task_id=task_id, within=within, also=also)
        seconds = time.perf_counter() - began
        metrics.observe_completion(view.process_key, seconds)
        log.info("task completed", extra={"task_id": task_id, "instance_id": view.id,
                                          "process_key": view.process_key, "duration_ms": round(seconds * 1000, 1)})
        return view

    def claim(self, task_id: str, *, user: str) -> dict:
        return self._set_assignee(task_id, user, user, "task_claimed")

    def unclaim(self, task_id: str, *, user: str) -> dict:
        return self._set_assignee(task_id, user, None, "task_unclaimed")

    def delegate(self, task_id: str, *, user: str, to: str, reason: str) -> dict:
        """Hand a task the user holds to a colleague, with a reason kept in the history."""
        return self._set_assignee(task_id, user, to, "task_delegated", data={"from": user, "to": to, "reason": reason},
                                  holder=user)

    def reassign(self, task_id: str, *, user: str, to: str, reason: str) -> dict:
        """Give a task to someone else whoever holds it (a department head's decision; the caller checks
        that `user` may)."""
        def check(row):
            return {"from": row.assignee, "to": to, "reason": reason}
        return self._set_assignee(task_id, user, to, "task_reassigned", data=check, holder=None)

    _ANYONE = object()

    def _set_assignee(self, task_id: str, user: str, assignee: str | None, event_type: str, *,
                      data=None, holder=_ANYONE) -> dict:
        """Change who holds a task. `holder`: who must hold it now (None: anyone; default: claim rules)."""
        def action(conn, live, outcome):
            row = _human_row(conn, live, task_id)
            task = _ready_task(live, task_id, row)
            if holder is self._ANYONE:
                if assignee is not None and row.assignee not in (None, user):
                    raise TaskClaimedByOther(f"task {task_id} is already claimed by {row.assignee}",
                                             assignee=row.assignee)
                if assignee is None and row.assignee != user:
                    raise TaskClaimedByOther(f"task {task_id} is not claimed by {user}", assignee=row.assignee)
            elif holder is not None and row.assignee != holder:
                raise TaskClaimedByOther(f"task {task_id} is not held by {holder}", assignee=row.assignee)
            claimed_at = outcome.now if assignee else None
            conn.execute(human_task.update().where(human_task.c.id == task_id).values(
                assignee=assignee, claimed_at=claimed_at))
            live.human[task_id].update(assignee=assignee, claimed_at=claimed_at)
            details = data(row) if callable(data) else (data or {})
            outcome.events.append(history.NewEvent(event_type, task_id=task_id, element_id=task.task_spec.bpmn_id,
                                                   data=details))

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

    def fire_due_timers(self, *, owner: str = "scheduler", limit: int = 200,
                        lease: timedelta = timedelta(seconds=60)) -> int:
        """Fire the timers due by the clock (never early), oldest first; returns how many fired.

        Safe to run in any number of processes at once: see engine.timers.
        """
        now = self.clock.now()
        with write_transaction(self.db) as conn:
            claimed = timers.claim_due(conn, now, owner, lease, limit)
        fired, leftover = 0, []
        by_instance: dict[str, list] = {}
        due_at = {}
        for row in claimed:
            by_instance.setdefault(row.instance_id, []).append(row.task_id)
            due_at[row.task_id] = row.due_at
        for instance_id, task_ids in by_instance.items():
            def action(conn, live, outcome):
                outcome.error = _run_engine(live.wf)
            try:
                view = self._operate(instance_id, "scheduler", action)
                fired += view.fired
                leftover += [t for t in task_ids if t not in view.fired_ids]
                metrics.observe_fired([(now - due_at[t]).total_seconds() for t in view.fired_ids if t in due_at])
            except NotFound:
                continue
        if leftover:
            with write_transaction(self.db) as conn:
                timers.release(conn, owner, leftover)
        return fired

    def sweep_deadlines(self, limit: int = 200) -> int:
        """Send due reminders and escalations (the scheduler calls this every tick)."""
        now = self.clock.now()
        with read_transaction(self.db) as conn:
            work = reminders.due_work(conn, now, limit)
        for row in work:
            def action(conn, live, outcome, task_id=row.id):
                reminders.apply(conn, live, task_id, outcome, self)
            try:
                self._operate(row.instance_id, "scheduler", action)
            except NotFound:
                continue
        if self.mailer is not None:
            self.mailer.send_pending(self.db, now)
        return len(work)

    def recompute_deadline(self, instance_id: str, *, due, provisional: bool, old, task_id: str | None = None,
                           timer_id: str | None = None) -> None:
        """Move a task's due date or a waiting timer to a recomputed moment (calendar refresh)."""
        from engine.db.schema import timer as timer_table

        def action(conn, live, outcome):
            if task_id is not None:
                row = live.human.get(task_id)
                if row is None:
                    return
                conn.execute(human_task.update().where(human_task.c.id == task_id).values(
                    due_at=due, due_provisional=provisional, next_escalation_at=due if row["escalation_level"] == 0
                    else row["next_escalation_at"]))
                row.update(due_at=due, due_provisional=provisional)
                element = row["element_id"]
            else:
                task = live.wf.get_task_from_id(UUID(timer_id))
                if task.state != TaskState.WAITING:
                    return
                task.internal_data["event_value"] = due.isoformat()
                live.timers[task.id] = due
                conn.execute(timer_table.update().where(timer_table.c.task_id == timer_id).values(
                    due_at=due, provisional=provisional))
                element = task.task_spec.bpmn_id
            outcome.events.append(history.NewEvent(
                "deadline_recomputed", task_id=task_id or timer_id, element_id=element,
                data={"old": old.isoformat() if old else None, "new": due.isoformat(), "provisional": provisional}))

        self._operate(instance_id, "calendar", action)

    def run_schedules(self) -> int:
        """Start one instance for each period of each scheduled process that has come."""
        started = 0
        while True:
            with read_transaction(self.db) as conn:
                rows = schedules.due(conn, self.clock.now())
            if not rows:
                return started
            for row in rows:
                period = row.next_at.astimezone(BEIJING)
                try:
                    self.start(row.process_key, started_by="scheduler",
                               business_key=f"{row.process_key}-{period:%Y-%m}",
                               data={"period": f"{period:%Y-%m}"}, _period=row)
                    started += 1
                except ConcurrentUpdate:
                    continue

    def waiting_timers(self, limit: int = 200) -> list[dict]:
        with read_transaction(self.db) as conn:
            return timers.waiting(conn, limit)

    # -- the unit of work ---------------------------------------------------------------------
    def _operate(self, instance_id: str | None, actor: str, action, *, task_id: str | None = None,
                 within: Callable | None = None, also: list | None = None) -> InstanceView:
        """Run `action` on the instance (found by id, or by one of its open tasks), persist, commit.

        The operation runs on the cached copy of the instance, or on one loaded without locking
        (outside the write transaction, so that on PostgreSQL the write can be one statement):
        the revision check of the write (which takes the row lock) refuses a copy that another
        node made stale — every change to an instance advances its revision, so a copy whose
        revision is still current was read whole at that revision. On any failure of that
        attempt nothing was committed, and the operation is done again the safe way: lock the
        row, take the cache only at the locked revision, else rebuild from the database.
        """
        if instance_id is None:
            _check_uuid(task_id, "task_id")
        else:
            _check_uuid(instance_id, "instance_id")
        with clockmod.using(self.clock, self.ids):
            live = self.cache.take_by_task(task_id) if instance_id is None else self.cache.take(instance_id)
            if live is None:
                live = self._load_unlocked(instance_id, task_id)
            if live is not None:
                try:
                    return self._attempt(live, actor, action, within=within, also=also)
                except Exception as exc:  # noqa: BLE001 - stale copy or failed action: redo under the lock
                    log.debug("optimistic attempt on %s failed (%r); retrying under the lock", live.id, exc)
            return self._attempt(None, actor, action, instance_id=instance_id, task_id=task_id, within=within,
                                 also=also)

    def _attempt(self, live, actor: str, action, *, instance_id: str | None = None,
                 task_id: str | None = None, within: Callable | None = None, also: list | None = None) -> InstanceView:
        with write_transaction(self.db) as conn:
            if live is None:
                live = self._lock_and_load(conn, instance_id, task_id)
            outcome = instances.StepOutcome(self.clock.now(), actor)
            op = self._operation(conn, live, actor, outcome.now)
            with op:
                action(conn, live, outcome)
                outcome.effects.extend(op.events)
                instances.persist(conn, live, outcome, self, final=within is None and self.before_commit is None
                                  and not op.op.children, also=also)
            started = self._start_children(conn, op, actor)
            if within is not None:
                within(conn, live.id)
            if self.before_commit is not None:
                self.before_commit(live.id)
            view = self._view(live)
            view.fired_ids = [e.task_id for e in outcome.recorded if e.type == "timer_fired"]
        self._verify(live, *started)
        for each in (live, *started):
            self.cache.put(each)
        return view

    def _load_unlocked(self, instance_id: str | None, task_id: str | None):
        """The instance as committed, read without a lock (None if not found or it cannot be read:
        the locked path then says why)."""
        try:
            with read_transaction(self.db) as conn:
                if instance_id is None:
                    row = conn.execute(_FIND_BY_TASK, {"p_task_id": task_id}).one_or_none()
                else:
                    row = conn.execute(_FIND_BY_ID, {"p_id": instance_id}).one_or_none()
                if row is None:
                    return None
                return instances.load(conn, row, self.registry.load(conn, row.process_version_id),
                                      self.script_engine)
        except Exception as exc:  # noqa: BLE001 - the locked attempt reports the real problem
            log.debug("unlocked load of %s failed (%r)", instance_id or task_id, exc)
            return None

    def _lock_and_load(self, conn, instance_id: str | None, task_id: str | None):
        """Lock the instance row; the live instance from the cache if current, else from the rows."""
        if instance_id is None:
            row = conn.execute(_LOCK_BY_TASK, {"p_task_id": task_id}).one_or_none()
            if row is None:
                raise NotFound(f"task {task_id} not found", field="task_id")
        else:
            row = conn.execute(_LOCK_BY_ID, {"p_id": instance_id}).one_or_none()
            if row is None:
                raise NotFound(f"instance {instance_id} not found", field="instance_id")
        live = self.cache.take(row.id, row.revision)
        if live is None:      # not cached here, or stale: rebuild from the (locked) rows
            live = instances.load(conn, row, self.registry.load(conn, row.process_version_id), self.script_engine)
        return live

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

    def evaluate(self, task, expression: str):
        return self.script_engine.evaluate(task, expression)

    def _verify(self, *lives) -> None:
        """Debug/test mode (`verify_persistence`): after the commit, a cold load of each instance
        written must equal its live workflow (unless another writer has moved it on since)."""
        if not self.verify_persistence:
            return
        with read_transaction(self.db) as conn:
            for live in lives:
                self._check_roundtrip(conn, live)

    def _check_roundtrip(self, conn, live) -> None:
        row = conn.execute(sa.select(process_instance).where(process_instance.c.id == live.id)).one()
        if row.revision != live.revision:
            return
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
        with read_transaction(self.db) as conn:
            rows = conn.execute(sa.select(event).where(event.c.chain == instance_id).order_by(event.c.seq)).all()
        return [{"seq": r.seq, "type": r.type, "at": r.at.isoformat(), "actor": r.actor, "task_id": r.task_id,
                 "element_id": r.element_id, "data": json.loads(r.data_json), "hash": r.hash} for r in rows]


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


# The instance row lock of an operation that does not run on a cached copy (whole row: a cold load needs it).
_FIND_BY_TASK = (sa.select(process_instance)
                 .where(process_instance.c.id == sa.select(human_task.c.instance_id)
                        .where(human_task.c.id == sa.bindparam("p_task_id")).scalar_subquery()))
_FIND_BY_ID = sa.select(process_instance).where(process_instance.c.id == sa.bindparam("p_id"))
_LOCK_BY_TASK = _FIND_BY_TASK.with_for_update()
_LOCK_BY_ID = _FIND_BY_ID.with_for_update()


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


def _moment(value, name: str) -> datetime:
    """A script's moment argument: a datetime, or an ISO date or datetime string (Beijing if naive)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f'{name}: "{value}" is not a date like 2026-08-20') from None
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a date or a moment, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


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
    for k in ("created_at", "due_at", "claimed_at", "completed_at", "remind_at", "reminded_at", "next_escalation_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d


def _incident_dict(r) -> dict:
    d = dict(r) if isinstance(r, dict) else dict(r._mapping)
    for k in ("created_at", "resolved_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d
