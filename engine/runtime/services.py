"""The engine's service layer: one method per use case, each one transaction (see unit_of_work).

    engine = Engine.from_settings(Settings.from_env())
    engine.deploy([SourceFile('x.bpmn', xml)], deployed_by='admin')
    view = engine.start('x', started_by='alice', data={...})
    engine.complete_task(view.tasks[0]['id'], user='alice', data={...})
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Callable
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine import history, metrics
from engine.bpmn import spiff  # (also installs the library fixes)
from engine.bpmn.registry import Registry, process_infos
from engine.bpmn.validation import SourceFile
from engine.config import Settings
from engine.db.schema import human_task, incident, timer as timer_table
from engine.db.transactions import create_db_engine, read_transaction, write_transaction
from engine.deadlines import periodic_starts as schedules, reminders, timers
from engine.deadlines.due import Deadlines
from engine.deadlines.notifications import Mailer
from engine.messages.sender import Sender
from engine.deadlines.workdays import BEIJING
from engine.errors import ConcurrentUpdate, Conflict, NotFound, TaskClaimedByOther, TaskNotReady
from engine.forms import FormCatalog
from engine.runtime import assignment, connectors, door, human_tasks, instances, notes, queries, recusal, rewind, signatures, store
from engine.runtime.separation import check_performer
from engine.runtime.connectors import Connectors, GuardContext, builtin as builtin_connectors
from engine.deadlines.policy import TaskPolicy
from engine.runtime.scripts import EngineScripts, script_helpers
from engine.runtime.stepping import StepLimits
from engine.runtime.unit_of_work import UnitOfWork, Unchanged, human_row, ready_task
from engine.runtime.views import HumanTask, Incident, InstanceView, check_data, convert
from engine.sandbox import ScriptLimits
from engine.sandbox.pool import ScriptPool, shared_pool

log = logging.getLogger(__name__)


_OWNER = object()      # `_set_assignee`: back to the task's owner


class Engine:
    """The door into the engine: one method per command or query, each its own transaction."""

    def __init__(self, db: sa.Engine, forms: FormCatalog, clock=None, ids=None, *,
                 script_limits: ScriptLimits = ScriptLimits(), cache_size: int = 2000,
                 verify_persistence: bool = False, remind_before: str | None = "working_days(2)",
                 escalate_after: str = "working_days(2)", mailer=None, messenger=None, max_steps: int = 10_000,
                 max_seconds: float = 10.0, monotonic: Callable[[], float] = time.monotonic,
                 connectors: Connectors | None = None, script_pool: ScriptPool | None = None):
        """`connectors`: the service operators and completion guards diagrams may name (default: the
        engine's own; engine.bootstrap adds the domains'). `max_steps`/`max_seconds` bound each
        operation (seconds on `monotonic`). `script_pool`: worker processes that run scripts under a
        hard CPU and memory limit (`engine.sandbox.pool`); None runs them in-process."""
        self.db = db
        self.connectors = connectors if connectors is not None else builtin_connectors()
        self.clock = clock or clockmod.SystemClock()
        self.ids = ids or clockmod.IdSource()
        self.forms = forms
        forms.attach(db)          # forms edited in the browser are versions in this database
        forms.option_sources = self.connectors.options      # selects whose choices are data (`optionsFrom`)
        self.registry = Registry(db, forms, self.clock, operators=self.connectors)
        self.deadlines = Deadlines(db)
        self.mailer = mailer
        self.messenger = messenger        # engine.messages.sender.Sender: the outbox to WeCom, DingTalk, SMS, e-mail
        self.script_engine = EngineScripts(self.now, self.connectors,
                                           helpers=script_helpers(self.now, self.deadlines), limits=script_limits,
                                           pool=script_pool)
        self.policy = TaskPolicy(self.script_engine.evaluate, self.deadlines, remind_before, escalate_after)
        self.uow = UnitOfWork(db, self.registry, self.script_engine, self.policy, self.clock, self.ids,
                              cache_size=cache_size, verify_persistence=verify_persistence,
                              limits=StepLimits(max_steps, max_seconds, monotonic))
        self.registry.on_decision = _record_decision
        self.registry.on_deployed = lambda conn, key, spec, now: schedules.register(conn, self.deadlines, key,
                                                                                     spec, now)

    @classmethod
    def from_settings(cls, settings: Settings, clock=None, ids=None, **kwargs) -> "Engine":
        history.use_algorithm(settings.hash_algorithm)      # SHA-256 or SM3 for new events (QINGLIAN_HASH)
        return cls(create_db_engine(settings.database_url), FormCatalog(settings.forms_dir), clock, ids,
                   script_limits=ScriptLimits(timeout_seconds=settings.script_timeout_seconds),
                   cache_size=settings.cache_size, verify_persistence=settings.verify_persistence,
                   mailer=Mailer.from_settings(settings), messenger=Sender.from_settings(settings, clock),
                   max_steps=settings.max_steps, max_seconds=settings.max_seconds,
                   script_pool=(shared_pool(settings.script_workers, settings.script_memory_mb or None)
                                if settings.script_workers > 0 else None), **kwargs)

    def now(self):
        return self.clock.now()

    def set_clock(self, clock) -> None:
        """Swap the clock (a drill database's virtual clock); the registry and the unit of work follow."""
        self.clock = clock
        self.registry.clock = clock
        self.uow.clock = clock

    # the unit of work's knobs, as the engine's own (tests and the bench set them)
    cache = property(lambda self: self.uow.cache)
    remind_before = property(lambda self: self.policy.remind_before)
    escalate_after = property(lambda self: self.policy.escalate_after)

    @property
    def verify_persistence(self) -> bool:
        return self.uow.verify_persistence

    @verify_persistence.setter
    def verify_persistence(self, value: bool) -> None:
        self.uow.verify_persistence = value

    @property
    def before_commit(self):
        return self.uow.before_commit

    @before_commit.setter
    def before_commit(self, hook) -> None:
        self.uow.before_commit = hook

    def evaluate(self, task, expression: str):
        return self.script_engine.evaluate(task, expression)

    # -- deploy -------------------------------------------------------------------------------
    def deploy(self, files: list[SourceFile], deployed_by: str, note: str | None = None):
        with clockmod.using(self.clock, self.ids):
            return self.registry.deploy(files, deployed_by, note)

    def process_info(self, process_key: str):
        """The latest version's own properties (start roles, start form, confidentiality), or NotFound."""
        info = self.registry.latest_info(lambda: read_transaction(self.db), process_key)
        if info is None:
            raise NotFound(f"process {process_key} is not deployed", field="process_key")
        return info

    def process_infos(self) -> dict:
        with read_transaction(self.db) as conn:
            return process_infos(conn)

    # -- instances ----------------------------------------------------------------------------
    def start(self, process_key: str, *, started_by: str, version: int | None = None,
              business_key: str | None = None, data: dict | None = None, _period=None,
              within: Callable | None = None, checked: int | None = None) -> InstanceView:
        """Start an instance. `within(conn, instance_id)` runs in the same transaction once the
        instance is written (e.g. to store what must stay out of the workflow data). `checked`: the
        number of the latest version the caller checked the start against (`process_info`); if
        another is the latest by the time of the write, nothing is written and `StaleVersion` is
        raised, for the caller to check again."""
        data = check_data(data)
        if checked is not None and version is None:
            return self._start_checked(process_key, checked, started_by, business_key, data, within)
        before = None
        if _period is not None:
            def before(conn):
                if not schedules.advance(conn, _period, self.deadlines):
                    raise ConcurrentUpdate(f"the period {_period.next_at} of {process_key} was already started")
        # The latest version as this node last saw it, checked in the write batch (no query first).
        hint = self.registry.latest_hint(process_key) if version is None else None
        with clockmod.using(self.clock, self.ids):
            if hint is not None:
                try:
                    return self.uow.start(process_key, started_by, version, business_key, data, hint=hint,
                                          period=_period, before=before, within=within)
                except instances.StaleVersion:     # a later version was deployed meanwhile
                    self.registry.forget_latest(process_key)
            return self.uow.start(process_key, started_by, version, business_key, data, period=_period,
                                  before=before, within=within)

    def _start_checked(self, process_key: str, checked: int, started_by: str, business_key, data: dict,
                       within) -> InstanceView:
        hint = self.registry.latest_hint(process_key)
        if hint is None or hint[1][1]["p_version"] != checked:
            raise instances.StaleVersion()
        with clockmod.using(self.clock, self.ids):
            try:
                return self.uow.start(process_key, started_by, None, business_key, data, hint=hint, within=within)
            except instances.StaleVersion:     # a later version was deployed meanwhile
                self.registry.forget_latest(process_key)
                raise

    def complete_task(self, task_id: str, *, user: str, data: dict | None = None, check: Callable | None = None,
                      prepare: Callable | None = None, also: list | None = None) -> InstanceView:
        """Complete a ready task with the submitted data. A `completionGuard` of the task may refuse it
        (Invalid). `check(conn, row, reads)` runs first in the completion's transaction, given the task's
        inbox row (`HumanTask`, any status) and what the safeguards read (`door.DoorReads`: who
        is kept out, who has not signed), before any check of the engine's: the caller's own
        (who may act, the form) without a read transaction of its own; it returns data merged
        over `data` (None: nothing). `prepare(conn, instance_id)` runs in the completion's
        transaction before the task runs (before its guard too) and returns data merged over
        `data` — e.g. the ids of files it stored; a failure anywhere after it rolls its writes back.
        `also`: prepared (statement, parameters) pairs written with the completion's own rows."""
        data = check_data(data)

        def action(conn, live, outcome):
            row = human_row(conn, live, task_id)
            reads = door.read(conn, live.id, task_id)     # the safeguards' reads, the caller's and ours
            given = data
            if check is not None:
                try:
                    given = {**data, **check_data(check(conn, row, reads))}
                except Exception as exc:        # nothing changed yet: see Unchanged
                    raise Unchanged(exc) from exc
            task = ready_task(live, task_id, row)
            if row.assignee and row.assignee != user:
                raise TaskClaimedByOther(f"task {task_id} is claimed by {row.assignee}", assignee=row.assignee)
            if getattr(row, "delegation", None) == "pending":
                raise Conflict("委托办理的任务须交回委托人，由委托人完成", field="task_id", owner=row.owner)
            check_performer(conn, live, task, user, exclusions=reads.exclusions)
            signatures.refuse_while_pending(reads.pending_signers)
            submitted = given if prepare is None else {**given, **check_data(prepare(conn, live.id))}
            props = spiff.task_properties(task)
            if props.get("completionGuard"):
                self.connectors.run_guard(props["completionGuard"].strip(), GuardContext(
                    conn, outcome.now, user, live.id, live.header["process_key"], live.header["business_key"],
                    task.task_spec.bpmn_id, dict(props), dict(task.data), dict(submitted)))
            outcome.events.append(history.NewEvent("task_completed", task_id=task_id,
                                                   element_id=task.task_spec.bpmn_id,
                                                   data={"data": convert(submitted)}))
            outcome.completed_by[task_id] = user
            task.data.update(submitted)
            outcome.error = self.uow.run(live.wf, first=task.run, submitted=task)

        began = time.perf_counter()
        view = self.uow.operate(None, user, action, task_id=task_id, also=also)
        seconds = time.perf_counter() - began
        metrics.observe_completion(view.process_key, seconds)
        log.info("task completed", extra={"task_id": task_id, "instance_id": view.id,
                                          "process_key": view.process_key, "duration_ms": round(seconds * 1000, 1)})
        return view

    def send_back(self, task_id: str, *, user: str, reason: str, to: str | None = None,
                  prepare: Callable | None = None) -> InstanceView:
        """退回: return the instance from a ready task to an earlier user task (see rewind)."""
        return rewind.send_back(self.uow, task_id, user=user, reason=reason, to=to, prepare=prepare)

    def withdraw(self, task_id: str, *, user: str, reason: str = "") -> InstanceView:
        """撤回: the performer of a completed task takes it back while the next is untouched (see rewind)."""
        return rewind.withdraw(self.uow, task_id, user=user, reason=reason)

    def note(self, task_id: str, *, user: str, event_type: str, data: dict, open_only: bool = False,
             within: Callable | None = None) -> InstanceView:
        """An event about a task that changes nothing in the process (催办, 抄送; see notes)."""
        return notes.record(self.uow, task_id, user=user, event_type=event_type, data=data, open_only=open_only,
                            within=within)

    def claim(self, task_id: str, *, user: str) -> HumanTask:
        return self._set_assignee(task_id, user, user, "task_claimed")

    def unclaim(self, task_id: str, *, user: str) -> HumanTask:
        return self._set_assignee(task_id, user, None, "task_unclaimed")

    def transfer(self, task_id: str, *, user: str, to: str, reason: str) -> HumanTask:
        """Hand a task the user holds to a colleague for good (转交), with a reason kept in the history;
        `Invalid` unless its lane lets the colleague have it."""
        return self._set_assignee(task_id, user, to, "task_delegated", data={"from": user, "to": to, "reason": reason},
                                  holder=user, target=to)

    def delegate(self, task_id: str, *, user: str, to: str, reason: str) -> HumanTask:
        """Delegate a task the user holds (委托, Camunda's delegation): the user stays its owner, the
        delegate works on it and resolves it, and it comes back to the owner to complete."""
        def check(row):
            if row.delegation == "pending":
                raise Conflict("此任务已委托他人办理，待其交回后才能再委托", field="to")
            return {"from": user, "to": to, "owner": user, "reason": reason}
        return self._set_assignee(task_id, user, to, "task_entrusted", data=check, holder=user, target=to,
                                  also={"owner": user, "delegation": "pending"})

    def resolve(self, task_id: str, *, user: str, data: dict | None = None, note: str = "") -> HumanTask:
        """The delegate hands a delegated task back to its owner, with what they filled in (kept in the
        history; the owner's form opens with it) and a note."""
        def check(row):
            if row.delegation != "pending":
                raise Conflict("此任务不是委托给你办理的任务", field="task_id")
            return {"from": user, "to": row.owner, "data": convert(check_data(data)), "note": note}
        return self._set_assignee(task_id, user, _OWNER, "task_resolved", data=check, holder=user,
                                  also={"delegation": "resolved"})

    def reassign(self, task_id: str, *, user: str, to: str, reason: str, mode: str | None = None) -> HumanTask:
        """Give a task to someone else whoever holds it (a department head's decision; the caller checks
        that `user` may); `Invalid` unless its lane lets them have it. A delegation in course ends.
        `mode`: a handling mode the domain records with it (e.g. 提级办理), as event data."""
        def check(row):
            return {"from": row.assignee, "to": to, "reason": reason, **({"mode": mode} if mode else {})}
        return self._set_assignee(task_id, user, to, "task_reassigned", data=check, holder=None, target=to,
                                  also={"owner": None, "delegation": None})

    _ANYONE = object()

    def _set_assignee(self, task_id: str, user: str, assignee, event_type: str, *,
                      data=None, holder=_ANYONE, target: str | None = None, also: dict | None = None) -> HumanTask:
        """Change who holds a task. `holder`: who must hold it now (None: anyone; default: claim rules).
        `target`: a person the task is handed to, checked against its lane. `assignee` `_OWNER`: back
        to its owner. `also`: further columns of the inbox row to set."""
        def action(conn, live, outcome):
            row = human_row(conn, live, task_id)
            task = ready_task(live, task_id, row)
            if holder is self._ANYONE:
                if assignee is not None and row.assignee not in (None, user):
                    raise TaskClaimedByOther(f"task {task_id} is already claimed by {row.assignee}",
                                             assignee=row.assignee)
                if assignee is None and row.assignee != user:
                    raise TaskClaimedByOther(f"task {task_id} is not claimed by {user}", assignee=row.assignee)
                if getattr(row, "delegation", None) == "pending":
                    raise Conflict("此任务正在委托办理中，须由受托人交回", field="task_id")
            elif holder is not None and row.assignee != holder:
                raise TaskClaimedByOther(f"task {task_id} is not held by {holder}", assignee=row.assignee)
            if target is not None:
                assignment.check_target(conn, row, target, user)
            if assignee is not None and assignee is not _OWNER:
                check_performer(conn, live, task, assignee, target=assignee != user)
            details = data(row) if callable(data) else (data or {})
            to = row.owner if assignee is _OWNER else assignee
            claimed_at = outcome.now if to else None
            values = {"assignee": to, "claimed_at": claimed_at, **(also or {})}
            conn.execute(human_task.update().where(human_task.c.id == task_id).values(**values))
            live.human[task_id].update(values)
            outcome.events.append(history.NewEvent(event_type, task_id=task_id, element_id=task.task_spec.bpmn_id,
                                                   data=details))

        view = self.uow.operate(None, user, action, task_id=task_id)
        return next(t for t in view.tasks if t.id == task_id)

    def declare_conflict(self, task_id: str, *, user: str, reason: str) -> HumanTask:
        """自行回避: `user` declares a conflict of interest on a task they may work on, with a reason.
        They are kept out of the instance from now on (a `conflict_declared` event); a task they held
        goes back to its candidates, for the office to reassign."""
        def action(conn, live, outcome):
            row = human_row(conn, live, task_id)
            task = ready_task(live, task_id, row)
            recusal.record(conn, live.id, outcome, username=user, kind="declared", reason=reason,
                           task_id=task_id, element_id=task.task_spec.bpmn_id)
            if row.assignee == user:
                conn.execute(human_task.update().where(human_task.c.id == task_id).values(
                    assignee=None, claimed_at=None))
                live.human[task_id].update(assignee=None, claimed_at=None)

        view = self.uow.operate(None, user, action, task_id=task_id)
        return next(t for t in view.tasks if t.id == task_id)

    def retry(self, instance_id: str, *, user: str, data: dict | None = None) -> InstanceView:
        """Re-run the failed tasks of an instance in error, after merging `data` into their input."""
        data = check_data(data)

        def action(conn, live, outcome):
            failed = [t for t in store.all_tasks(live.wf) if t.state == TaskState.ERROR]
            if not failed:
                raise TaskNotReady(f"instance {instance_id} has no failed task to retry")
            outcome.events.append(history.NewEvent("instance_retried", data={"data": convert(data)}))
            for task in failed:
                live.incidents.pop(str(task.id), None)
            outcome.reopened = queries.with_inbox_rows(conn, [str(t.id) for t in failed if human_tasks.is_human(t)])
            conn.execute(incident.update().where(incident.c.instance_id == instance_id,
                                                 incident.c.resolved_at.is_(None))
                         .values(resolved_at=outcome.now, resolved_by=user))
            outcome.error = self.uow.retry(live.wf, failed, data)

        return self.uow.operate(instance_id, user, action)

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
                outcome.error = self.uow.run(live.wf)
            try:
                view = self.uow.operate(instance_id, "scheduler", action)
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
                reminders.apply(conn, live, task_id, outcome, self.policy)
            try:
                self.uow.operate(row.instance_id, "scheduler", action)
            except NotFound:
                continue
        if self.mailer is not None:
            self.mailer.send_pending(self.db, now)
        if self.messenger is not None:
            self.messenger.send_due(self.db, self.clock)
        return len(work)

    def recompute_deadline(self, instance_id: str, *, due, provisional: bool, old, task_id: str | None = None,
                           timer_id: str | None = None) -> None:
        """Move a task's due date or a waiting timer to a recomputed moment (calendar refresh)."""
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

        self.uow.operate(instance_id, "calendar", action)

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

    # -- queries ------------------------------------------------------------------------------
    def show(self, instance_id: str) -> InstanceView:
        return queries.show(self.db, instance_id)

    def task(self, task_id: str, conn=None) -> HumanTask:
        """One inbox row; read in `conn`, the caller's read transaction, when given."""
        return queries.task(self.db, task_id, conn)

    def list_tasks(self, *, user: str | None = None, status: str = "open", limit: int = 200) -> list[HumanTask]:
        return queries.list_tasks(self.db, user=user, status=status, limit=limit)

    def incidents(self, *, open_only: bool = True) -> list[Incident]:
        return queries.incidents(self.db, open_only=open_only)

    def events(self, instance_id: str) -> list[dict]:
        return queries.events(self.db, instance_id)


def _record_decision(task, evaluation: dict) -> None:
    """A business rule task decided: its inputs, the rules that matched and its output go into the
    instance's chain (the `decision_evaluated` event), in the operation that ran it."""
    from engine.history import NewEvent
    try:
        op = connectors.current()
    except RuntimeError:          # evaluated outside an engine operation: nothing to record into
        return
    op.events.append(NewEvent("decision_evaluated", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                              data=evaluation))
