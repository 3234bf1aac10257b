"""The unit of work of every engine operation: find the live instance (cache, unlocked read, or
under the row lock), run the operation's action on it, persist what changed and commit — one
transaction, with the optimistic revision check of `persist` deciding whether a copy was current.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import timedelta
from typing import Callable
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine import history
from engine.bpmn import spiff
from engine.db.schema import human_task, process_instance
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import NotFound, TaskAlreadyCompleted, TaskNotReady
from engine.runtime import connectors, instances, recusal, store
from engine.runtime.instances import LiveInstance, StepOutcome
from engine.runtime.persist import persist
from engine.deadlines.policy import TaskPolicy
from engine.runtime.stepping import StepLimits, _Operation, check_due_dates, ready_before, retry_failed, run_engine
from engine.runtime.views import HumanTask, InstanceView, check_data, check_uuid, convert, view_of

log = logging.getLogger(__name__)

Action = Callable[[object, LiveInstance, StepOutcome], None]   # (conn, live, outcome): the operation itself


class Unchanged(Exception):
    """An action's refusal raised before it changed anything of the live instance (`reason`, the
    refusal itself): the copy is still the committed one, so the retry under the lock takes it
    back from the cache at the locked revision instead of rebuilding it from the rows."""

    def __init__(self, reason: Exception):
        super().__init__(reason)
        self.reason = reason


class InstanceCache:
    """Committed live workflows by instance id. `take` hands one out exclusively.

    Open human tasks are indexed too, so that an operation on a task finds its cached instance
    without asking the database (see `UnitOfWork.operate`).
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, LiveInstance] = OrderedDict()
        self._task_keys: dict[str, list[str]] = {}    # instance id -> task ids indexed at `put`
        self._by_task: dict[str, str] = {}            # open human task id -> instance id
        self._lock = threading.Lock()

    def take(self, instance_id: str, revision: int | None = None) -> LiveInstance | None:
        """The cached instance, if any (and at `revision` when given); it leaves the cache."""
        if self.size <= 0:
            return None
        with self._lock:
            live = self._pop(instance_id)
        return live if live is not None and (revision is None or live.revision == revision) else None

    def take_by_task(self, task_id: str) -> LiveInstance | None:
        """The cached instance that has `task_id` as an open human task, if any."""
        if self.size <= 0:
            return None
        with self._lock:
            instance_id = self._by_task.get(task_id)
            return self._pop(instance_id) if instance_id is not None else None

    def put(self, live: LiveInstance) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._pop(live.id)
            self._items[live.id] = live
            keys = list(live.human)
            self._task_keys[live.id] = keys
            for key in keys:
                self._by_task[key] = live.id
            while len(self._items) > self.size:
                self._pop(next(iter(self._items)))

    def _pop(self, instance_id: str) -> LiveInstance | None:
        live = self._items.pop(instance_id, None)
        for key in self._task_keys.pop(instance_id, ()):
            if self._by_task.get(key) == instance_id:
                del self._by_task[key]
        return live

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._task_keys.clear()
            self._by_task.clear()


def lock_instance(conn, instance_id: str):
    """The instance row, locked for the transaction (NotFound if there is none)."""
    row = conn.execute(sa.select(process_instance).where(process_instance.c.id == instance_id)
                       .with_for_update()).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return row


# The instance row of an operation that does not run on a cached copy (whole row: a cold load needs it).
_FIND_BY_TASK = (sa.select(process_instance)
                 .where(process_instance.c.id == sa.select(human_task.c.instance_id)
                        .where(human_task.c.id == sa.bindparam("p_task_id")).scalar_subquery()))
_FIND_BY_ID = sa.select(process_instance).where(process_instance.c.id == sa.bindparam("p_id"))
_LOCK_BY_TASK = _FIND_BY_TASK.with_for_update()
_LOCK_BY_ID = _FIND_BY_ID.with_for_update()


class UnitOfWork:
    """Owns the transaction of each operation, the instance cache and the persistence check."""

    def __init__(self, db: sa.Engine, registry, scripts, policy: TaskPolicy, clock, ids, *,
                 cache_size: int = 2000, verify_persistence: bool = False, limits: StepLimits = StepLimits()):
        self.db = db
        self.registry = registry
        self.scripts = scripts
        self.policy = policy
        self.clock = clock
        self.ids = ids
        self.cache = InstanceCache(cache_size)
        self.verify_persistence = verify_persistence
        self.limits = limits
        self.before_commit: Callable[[str], None] | None = None   # test hook: hold a transaction open

    def run(self, wf, *, first: Callable | None = None, submitted=None) -> Exception | None:
        """`first`, then engine steps to the next wait state: guarded and bounded (see stepping)."""
        with store.walking_recent(wf):        # a long instance costs what a short one does
            known = ready_before(wf)
            return (run_engine(wf, self.limits, first=first, submitted=submitted)
                    or check_due_dates(wf, self.policy, known))

    def retry(self, wf, failed: list, data: dict) -> Exception | None:
        """Reset the failed tasks with `data` on top, then run on: guarded and bounded."""
        with store.walking_recent(wf):
            known = ready_before(wf)
            return retry_failed(wf, failed, data, self.limits) or check_due_dates(wf, self.policy, known)

    # -- a new instance ---------------------------------------------------------------------------
    def start(self, process_key: str, started_by: str, version: int | None, business_key: str | None,
              data: dict, *, hint=None, period=None, before: Callable | None = None,
              within: Callable | None = None) -> InstanceView:
        """Write a new instance (and the children it starts) in one transaction. `before(conn)` runs
        first (e.g. claiming a scheduled period); `within(conn, instance_id)` once it is written."""
        with write_transaction(self.db) as conn:
            if before is not None:
                before(conn)
            live, started = self.create(conn, process_key, started_by, version, business_key, data, period, hint,
                                        final=within is None)
            if within is not None:
                within(conn, live.id)
            view = view_of(live)
        self._verify(live, *started)
        for each in (live, *started):
            self.cache.put(each)
        return view

    def create(self, conn, process_key, started_by, version, business_key, data, period=None, hint=None,
               parent_id=None, iid=None, final=False):
        """Write a new instance run to its first wait state, then the children it started; returns
        (the instance, every instance it started, recursively). `final`: the caller writes nothing
        more in the transaction."""
        version_id = hint[0] if hint is not None else self.registry.resolve(conn, process_key, version)
        loaded = self.registry.load(conn, version_id)
        now = self.clock.now()
        iid = iid or str(self.ids.uuid())
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.scripts)
        wf.task_tree.data.update(data)
        if period is not None:     # the period has come: its timer start event fires now
            for t in wf.get_tasks(spec_name=period.element_id):
                t.internal_data["event_value"] = (now - timedelta(microseconds=1)).isoformat()
        outcome = StepOutcome(now, started_by, [history.NewEvent(
            "instance_started", data={"process_key": process_key, "version": loaded.version,
                                      "version_id": loaded.id, "business_key": business_key,
                                      "data": convert(data), "clock": now.isoformat(),
                                      **({"parent_id": parent_id} if parent_id else {})})])
        live = LiveInstance(iid, loaded, wf, store.Snapshot(), 0, 0, history.GENESIS, "active", header={
            "process_key": process_key, "business_key": business_key, "started_by": started_by,
            "started_at": now, "ended_at": None, "parent_id": parent_id})
        op = self._operation(conn, live, started_by, now)
        with op:        # bound until written: due dates and subjects are evaluated while persisting
            outcome.error = self.run(wf)
            outcome.effects.extend(op.events)
            recusal.sync(conn, live, outcome)
            persist(conn, live, outcome, self.policy, new_row={
                "id": iid, "process_version_id": loaded.id, "process_key": process_key,
                "business_key": business_key, "started_by": started_by, "started_at": now,
                "parent_id": parent_id},
                guard=hint[1] if hint is not None else None, final=final and not op.op.children)
        return live, self._start_children(conn, op, started_by)

    def _operation(self, conn, live, actor: str, now) -> _Operation:
        return _Operation(connectors.Operation(conn, now, actor, live.id, live.header["process_key"],
                                               live.header["business_key"], lambda: str(self.ids.uuid())))

    def _start_children(self, conn, op: _Operation, actor: str) -> list:
        """The instances a service task asked for, written in the parent's transaction."""
        started = []
        for child in op.op.children:
            live, grandchildren = self.create(conn, child.process_key, actor, None, child.business_key,
                                              check_data(child.data), parent_id=op.op.instance_id, iid=child.id)
            started += [live, *grandchildren]
        return started

    # -- an operation on a running instance ------------------------------------------------------
    def operate(self, instance_id: str | None, actor: str, action: Action, *, task_id: str | None = None,
                also: list | None = None) -> InstanceView:
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
            check_uuid(task_id, "task_id")
        else:
            check_uuid(instance_id, "instance_id")
        with clockmod.using(self.clock, self.ids):
            live = self.cache.take_by_task(task_id) if instance_id is None else self.cache.take(instance_id)
            if live is None:
                live = self._load_unlocked(instance_id, task_id)
            if live is not None:
                try:
                    return self._attempt(live, actor, action, also=also)
                except Unchanged as refused:      # perhaps on a stale copy: asked again under the lock
                    log.debug("optimistic attempt on %s refused (%r); asking under the lock", live.id, refused.reason)
                    self.cache.put(live)
                except Exception as exc:  # noqa: BLE001 - stale copy or failed action: redo under the lock
                    log.debug("optimistic attempt on %s failed (%r); retrying under the lock", live.id, exc)
            try:
                return self._attempt(None, actor, action, instance_id=instance_id, task_id=task_id, also=also)
            except Unchanged as refused:
                raise refused.reason from None

    def _attempt(self, live, actor: str, action: Action, *, instance_id: str | None = None,
                 task_id: str | None = None, also: list | None = None) -> InstanceView:
        with write_transaction(self.db) as conn:
            if live is None:
                live = self._lock_and_load(conn, instance_id, task_id)
            outcome = StepOutcome(self.clock.now(), actor)
            op = self._operation(conn, live, actor, outcome.now)
            with op:
                action(conn, live, outcome)
                outcome.effects.extend(op.events)
                recusal.sync(conn, live, outcome)
                persist(conn, live, outcome, self.policy, final=self.before_commit is None and not op.op.children,
                        also=also)
            started = self._start_children(conn, op, actor)
            if self.before_commit is not None:
                self.before_commit(live.id)
            view = view_of(live)
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
                return instances.load(conn, row, self.registry.load(conn, row.process_version_id), self.scripts)
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
            live = instances.load(conn, row, self.registry.load(conn, row.process_version_id), self.scripts)
        return live

    # -- the persistence check (tests, debugging) ----------------------------------------------------
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
        cold = instances.load(conn, row, live.version, self.scripts)

        def frontier(wf):
            return sorted((str(t.id), t.task_spec.name, t.state, spiff.dumps(spiff.registry.clean(t.data)))
                          for t in store.all_tasks(wf) if t.state & TaskState.NOT_FINISHED_MASK
                          and not t.state & store.NOT_STORED)

        def predicted(wf):
            return sorted((t.task_spec.name, t.state) for t in store.all_tasks(wf) if t.state & store.NOT_STORED)
        a, b = frontier(live.wf), frontier(cold.wf)
        if a != b or predicted(live.wf) != predicted(cold.wf) or cold.open_human != live.open_human \
                or cold.timers != live.timers:
            raise AssertionError(f"persistence round trip differs for {live.id}:\nlive={a}\ncold={b}\n"
                                 f"predicted live={predicted(live.wf)}\npredicted cold={predicted(cold.wf)}")


# -- what an action on a task checks first ----------------------------------------------------------
def human_row(conn, live, task_id: str) -> HumanTask:
    """The inbox row of a task: from the live instance when open, else from the database."""
    cached = live.human.get(task_id)
    if cached is not None:
        return HumanTask.of(cached)
    row = conn.execute(sa.select(human_task).where(human_task.c.id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} not found", field="task_id")
    return HumanTask.of(row)


def ready_task(live, task_id: str, row):
    """The Spiff task behind an open inbox row, READY; else the error that says why not."""
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
