"""Loading, caching and saving live instances: the unit of work of every engine operation.

An operation locks the instance row, takes the live workflow from the cache when its revision
matches the row (else rebuilds it from rows), mutates it, and `persist` writes what changed —
task rows, inbox rows, timer index, incidents, events — and bumps the revision, all in one
transaction. The cache only ever holds workflows whose state was committed.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import history
from engine.runtime import human_tasks, store
from engine.bpmn import spiff
from engine.deadlines.due import timer_definition, timer_due
from engine.errors import ConcurrentUpdate, NotFound
from engine.bpmn.registry import LoadedVersion
from engine.db.prepared import GuardFailed, Prepared, PreparedInsert, run_all
from engine.db.schema import event, human_task, incident, instance_task, process_instance, timer


def _insert(table, exclude=()) -> Prepared:
    return PreparedInsert(table, exclude)


def _update(table, keys: tuple, cols: tuple) -> Prepared:
    where = [table.c[k] == sa.bindparam("k_" + k) for k in keys]
    return Prepared(table.update().where(*where).values({c: sa.bindparam("p_" + c) for c in cols}))


def _params(row: dict, prefix: str = "p_") -> dict:
    return {prefix + k: v for k, v in row.items()}


INSERT_INSTANCE = _insert(process_instance)
UPDATE_INSTANCE = _update(process_instance, ("id", "revision"),
                          ("revision", "status", "updated_at", "ended_at", "event_seq", "event_head", "workflow_json"))
INSERT_TASK = _insert(instance_task)
UPDATE_TASK = _update(instance_task, ("instance_id", "id"), ("state", "props_json", "data_json"))
DELETE_TASK = Prepared(instance_task.delete().where(instance_task.c.instance_id == sa.bindparam("k_instance_id"),
                                                    instance_task.c.id == sa.bindparam("k_id")))
INSERT_HUMAN = _insert(human_task)
CLOSE_HUMAN = _update(human_task, ("id",), ("status", "completed_by", "completed_at"))
INSERT_TIMER = _insert(timer)
MOVE_TIMER = _update(timer, ("task_id",), ("due_at", "lease_owner", "lease_until"))
DELETE_TIMER = Prepared(timer.delete().where(timer.c.task_id == sa.bindparam("k_task_id")))
INSERT_EVENT = _insert(event, exclude=("id",))


@dataclass
class LiveInstance:
    id: str
    version: LoadedVersion
    wf: object
    snap: store.Snapshot
    revision: int
    event_seq: int
    event_head: str
    status: str
    header: dict = field(default_factory=dict)      # instance columns shown with it (key, starter, dates)
    human: dict = field(default_factory=dict)       # task id -> open inbox row
    timers: dict = field(default_factory=dict)      # task id -> due datetime
    incidents: dict = field(default_factory=dict)   # task id -> open incident row
    frontier: list = field(default_factory=list)    # unfinished tasks after the last step

    @property
    def open_human(self) -> set:
        return {UUID(k) for k in self.human}

    @property
    def errored(self) -> set:
        return {UUID(k) for k in self.incidents}


class InstanceCache:
    """Committed live workflows by instance id. `take` hands one out exclusively.

    Open human tasks are indexed too, so that an operation on a task finds its cached instance
    without asking the database (see `Engine._operate`).
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
    row = conn.execute(sa.select(process_instance).where(process_instance.c.id == instance_id)
                       .with_for_update()).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return row


def load(conn, row, version: LoadedVersion, script_engine) -> LiveInstance:
    """Rebuild a live instance from its rows."""
    iid = row.id
    c = instance_task.c
    rows = conn.execute(sa.select(c.id, c.workflow_id, c.parent_id, c.seq, c.state, c.spec_name, c.props_json)
                        .where(c.instance_id == iid).order_by(c.seq)).all()
    wanted = store.needed_data_ids(rows, version.joins)
    data_by_id = {}
    if wanted:
        for r in conn.execute(sa.select(c.id, c.data_json).where(c.instance_id == iid, c.id.in_(wanted))):
            data_by_id[r.id] = r.data_json
    wf, snap = store.assemble(version.spec, version.subprocess_specs, row.workflow_json, rows, data_by_id,
                              script_engine)
    live = LiveInstance(iid, version, wf, snap, row.revision, row.event_seq, row.event_head, row.status,
                        header=header_of(row))
    live.human = {r.id: dict(r._mapping) for r in conn.execute(
        sa.select(human_task).where(human_task.c.instance_id == iid, human_task.c.status == "open")
        .order_by(human_task.c.created_at, human_task.c.id))}
    live.timers = {UUID(r.task_id): r.due_at for r in conn.execute(
        sa.select(timer.c.task_id, timer.c.due_at).where(timer.c.instance_id == iid))}
    if row.status == "error":      # open incidents exist only while the instance is in error
        live.incidents = {r.task_id: dict(r._mapping) for r in conn.execute(
            sa.select(incident).where(incident.c.instance_id == iid, incident.c.resolved_at.is_(None),
                                      incident.c.task_id.is_not(None)))}
    live.frontier = [t for t in store.all_tasks(wf) if t.state & store.FRONTIER]
    return live


def header_of(row) -> dict:
    return {k: getattr(row, k) for k in ("process_key", "business_key", "started_by", "started_at", "ended_at")}


@dataclass
class StepOutcome:
    """What one operation changed, beyond the task rows."""

    now: datetime
    actor: str | None
    events: list = field(default_factory=list)          # input events, first
    effects: list = field(default_factory=list)         # events written by service tasks (phase changes...)
    completed_by: dict = field(default_factory=dict)    # task id -> user, for human completions
    error: Exception | None = None
    recorded: list = field(default_factory=list)        # every event the operation wrote


def _is_timer(task) -> bool:
    return timer_definition(task) is not None


class StaleVersion(Exception):
    """A new instance's `guard` failed: its process version is no longer the latest."""


def persist(conn, live: LiveInstance, outcome: StepOutcome, env, *, new_row: dict | None = None,
            guard: tuple | None = None, final: bool = False, also: list | None = None) -> None:
    """Write everything the operation changed and advance the instance's revision.

    `new_row` holds the columns of a new instance's row: it is inserted instead of updated.
    `guard` (a prepared SELECT and its parameters) must return exactly one row, else nothing
    is written and StaleVersion is raised. `final`: the caller writes nothing after this in the
    transaction (see prepared.run_all). `also`: the caller's own prepared (statement, parameters)
    pairs, written in the same batch.
    """
    wf = live.wf
    now = outcome.now
    iid = live.id
    writes, deleted, frontier = store.diff(wf, live.snap)
    written = {w.task.id for w in writes}
    store.repredict([t for t in frontier if t.id in written])   # unchanged tasks are canonical already
    fired: list[history.NewEvent] = []     # timers that fired: inputs too, recorded before their effects
    events: list[history.NewEvent] = []    # effects: tasks ready/cancelled, incidents, end
    statements: list[tuple] = []   # (statement, params) executed in order after the instance row

    # -- task rows --
    inserts = [_params(dict(w.row, instance_id=iid)) for w in writes if w.is_new]
    updates = [{"k_instance_id": iid, "k_id": w.row["id"], "p_state": w.row["state"],
                "p_props_json": w.row["props_json"], "p_data_json": w.row["data_json"]}
               for w in writes if not w.is_new]
    if inserts:
        statements.append((INSERT_TASK, inserts))
    if updates:
        statements.append((UPDATE_TASK, updates))
    if deleted:
        statements.append((DELETE_TASK, [{"k_instance_id": iid, "k_id": str(t)} for t in deleted]))

    # -- inbox rows, timer index, incidents: driven by the tasks that changed --
    new_human, new_timers, moved_timers, new_incidents = [], [], [], []
    closed_human: list[tuple[str, str]] = []
    gone_timers: list[str] = []
    for w in writes:
        task, tid, state = w.task, w.task.id, w.task.state
        if str(tid) in live.human and state != TaskState.READY:
            status = human_tasks.closing_status(task)
            closed_human.append((str(tid), status))
            live.human.pop(str(tid))
            if status == "cancelled":
                events.append(history.NewEvent("task_cancelled", task_id=str(tid), element_id=task.task_spec.bpmn_id))
        elif state == TaskState.READY and str(tid) not in live.human and human_tasks.is_human(task):
            new_human.append(task)
        if _is_timer(task):
            old = live.timers.get(tid)
            if state == TaskState.WAITING:
                due = timer_due(task)
                if due is not None and old is None:
                    new_timers.append((task, due))
                elif due is not None and old != due:
                    moved_timers.append((task, due, old))
            elif old is not None:
                gone_timers.append(str(tid))
                live.timers.pop(tid)
                # a gateway also completes when its other event comes first: only a due one fired
                gateway = not isinstance(task.task_spec.event_definition, TimerEventDefinition)
                if state == TaskState.COMPLETED and (not gateway or old < now):
                    fired.append(_timer_fired(task, old, now))
        if state == TaskState.ERROR and str(tid) not in live.incidents:
            new_incidents.append(task)
    for tid in deleted:
        if str(tid) in live.human:
            closed_human.append((str(tid), "cancelled"))
            live.human.pop(str(tid))
        if tid in live.timers:
            gone_timers.append(str(tid))
            live.timers.pop(tid)

    if closed_human:
        statements.append((CLOSE_HUMAN, [
            {"k_id": tid, "p_status": status, "p_completed_at": now,
             "p_completed_by": outcome.completed_by.get(tid) if status == "completed" else None}
            for tid, status in closed_human]))
    if new_human:
        rows = [human_tasks.new_row(t, iid, live.version.process_key, live.version.lanes, now, env,
                                    live.version.confidential)
                for t in new_human]
        statements.append((INSERT_HUMAN, [_params(r) for r in rows]))
        for t, r in zip(new_human, rows):
            live.human[r["id"]] = r
            events.append(history.NewEvent("task_ready", task_id=r["id"], element_id=r["element_id"], data={
                "name": r["name"], "lane": r["lane"], "role": r["candidate_role"],
                "department": r["candidate_department"], "form_key": r["form_key"],
                "due_at": r["due_at"].isoformat() if r["due_at"] else None}))

    if gone_timers:
        statements.append((DELETE_TIMER, [{"k_task_id": t} for t in gone_timers]))
    for task, due, old in moved_timers:  # a cycle timer fired and re-armed
        statements.append((MOVE_TIMER, {"k_task_id": str(task.id), "p_due_at": due, "p_lease_owner": None,
                                        "p_lease_until": None}))
        live.timers[task.id] = due
        if old <= now:
            fired.append(_timer_fired(task, old, now))
    if new_timers:
        statements.append((INSERT_TIMER, [
            {"p_task_id": str(t.id), "p_instance_id": iid, "p_element_id": t.task_spec.bpmn_id,
             "p_kind": type(t.task_spec.event_definition).__name__, "p_due_at": due, "p_armed_at": now,
             **_timer_rule(env, t, now), "p_lease_owner": None, "p_lease_until": None}
            for t, due in new_timers]))
        for t, due in new_timers:
            live.timers[t.id] = due

    for task in new_incidents:
        err = outcome.error
        line = getattr(err, "line_number", None)
        line = line if isinstance(line, int) else None
        message = _error_message(err, task)
        inc = {"instance_id": iid, "task_id": str(task.id), "element_id": task.task_spec.bpmn_id,
               "message": message, "script_line": line, "created_at": now}
        statements.append((incident.insert(), [inc]))   # rare: the ordinary path
        live.incidents[str(task.id)] = dict(inc, id=None, resolved_at=None, resolved_by=None)
        events.append(history.NewEvent("instance_errored", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                                       data={"message": message, "line": line}))

    # -- status and history --
    live.frontier = frontier
    old_status = live.status
    if live.incidents:
        live.status = "error"
    elif not frontier:
        live.status = "completed" if wf.success else "cancelled"
    else:
        live.status = "active"
    ended = live.status in ("completed", "cancelled") and old_status != live.status
    if ended:
        events.append(history.NewEvent(f"instance_{live.status}",
                                       data={"data": spiff.registry.convert(spiff.registry.clean(wf.data))}))
    # Timers that fired together are recorded oldest first (then by element): an order that does not
    # depend on task ids, so that a replay records them alike.
    fired.sort(key=lambda e: (e.data["due_at"], e.element_id or ""))
    events = outcome.events + fired + outcome.effects + events
    if events:
        # The first (input) event records the state it led to, so that a replay can check it.
        first = events[0]
        first.data = dict(first.data, after={"status": live.status, "active": sorted(
            t.task_spec.bpmn_id for t in frontier
            if t.state != TaskState.STARTED and getattr(t.task_spec, "bpmn_id", None))})
    for ev in events:
        if ev.actor is None:
            ev.actor = outcome.actor
    outcome.recorded = events
    rows, seq, head = history.chain_rows(iid, iid, live.event_seq, live.event_head, now, events)
    if ended:
        live.header["ended_at"] = now
    values = {"revision": live.revision + 1, "status": live.status, "updated_at": now,
              "ended_at": live.header.get("ended_at"), "event_seq": seq, "event_head": head,
              "workflow_json": store.workflow_shell(wf)}

    # -- execute, instance row first: it is the lock and the optimistic revision check --
    batch = [(INSERT_INSTANCE, _params({**new_row, **values})) if new_row is not None else
             (UPDATE_INSTANCE, {"k_id": iid, "k_revision": live.revision, **_params(values)})]
    if guard is not None:
        batch.insert(0, guard)
    batch += [(stmt, params) for stmt, params in statements if isinstance(stmt, Prepared)]
    if rows:
        batch.append((INSERT_EVENT, [_params(r) for r in rows]))
    batch += also or ()
    try:
        run_all(conn, batch, guard_first=new_row is None or guard is not None,
                final=final and all(isinstance(stmt, Prepared) for stmt, _ in statements))
    except GuardFailed:
        if new_row is not None:
            raise StaleVersion() from None
        raise ConcurrentUpdate(f"instance {iid} was changed by someone else meanwhile; reload and try again") from None
    except Exception:
        # On PostgreSQL the batch is one statement: a stale writer's guard finds no row, but its
        # events then collide with the other writer's (unique chain, seq) and the statement fails
        # before any count comes back. Tell that case apart by the revision, read afresh.
        if new_row is None and _revision_moved(conn, iid, live.revision):
            raise ConcurrentUpdate(f"instance {iid} was changed by someone else meanwhile; "
                                   "reload and try again") from None
        raise
    for stmt, params in statements:
        if not isinstance(stmt, Prepared):
            conn.execute(stmt, params)
    live.revision += 1
    live.event_seq, live.event_head = seq, head


def _revision_moved(conn, instance_id: str, revision: int) -> bool:
    """Whether the committed revision of an instance is no longer `revision` (own connection:
    the caller's transaction has failed)."""
    try:
        with conn.engine.connect() as other:
            current = other.execute(sa.select(process_instance.c.revision)
                                    .where(process_instance.c.id == instance_id)).scalar()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        return False
    return current is not None and current != revision


def _timer_rule(env, task, now) -> dict:
    """The calendar rule a timer was written with (to recompute it) and whether it is provisional."""
    expression = (getattr(timer_definition(task), "expression", "") or "").strip()
    d = env.deadlines.by_rule(expression, now)
    return {"p_rule": expression if d is not None else None, "p_provisional": bool(d and d.provisional)}


def _timer_fired(task, due: datetime, now: datetime) -> history.NewEvent:
    return history.NewEvent("timer_fired", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                            data={"due_at": due.isoformat(), "clock": now.isoformat()})


def _error_message(err, task) -> str:
    if err is None:
        return f"task {task.task_spec.bpmn_id} failed"
    msg = getattr(err, "error", None) or str(err)
    return str(msg)


