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

from . import history, human_tasks, spiff, store
from .deadlines import timer_due
from .errors import ConcurrentUpdate, NotFound
from .registry import LoadedVersion
from .schema import event, human_task, incident, instance_task, process_instance, timer


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
    open_human: set = field(default_factory=set)
    timers: dict = field(default_factory=dict)       # task id -> due datetime
    errored: set = field(default_factory=set)        # task ids with an open incident


class InstanceCache:
    """Committed live workflows by instance id. `take` hands one out exclusively."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, LiveInstance] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: str, revision: int) -> LiveInstance | None:
        if self.size <= 0:
            return None
        with self._lock:
            live = self._items.pop(instance_id, None)
        return live if live is not None and live.revision == revision else None

    def put(self, live: LiveInstance) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[live.id] = live
            self._items.move_to_end(live.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


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
    wanted = store.needed_data_ids(rows)
    data_by_id = {}
    if wanted:
        for r in conn.execute(sa.select(c.id, c.data_json).where(c.instance_id == iid, c.id.in_(wanted))):
            data_by_id[r.id] = r.data_json
    wf, snap = store.assemble(version.spec, version.subprocess_specs, row.workflow_json, rows, data_by_id,
                              script_engine)
    live = LiveInstance(iid, version, wf, snap, row.revision, row.event_seq, row.event_head, row.status)
    live.open_human = {UUID(r.id) for r in conn.execute(
        sa.select(human_task.c.id).where(human_task.c.instance_id == iid, human_task.c.status == "open"))}
    live.timers = {UUID(r.task_id): r.due_at for r in conn.execute(
        sa.select(timer.c.task_id, timer.c.due_at).where(timer.c.instance_id == iid))}
    live.errored = {UUID(r.task_id) for r in conn.execute(
        sa.select(incident.c.task_id).where(incident.c.instance_id == iid, incident.c.resolved_at.is_(None),
                                            incident.c.task_id.is_not(None)))}
    return live


@dataclass
class StepOutcome:
    """What one operation changed, beyond the task rows."""

    now: datetime
    actor: str | None
    events: list = field(default_factory=list)          # input events, first
    completed_by: dict = field(default_factory=dict)    # task id -> user, for human completions
    error: Exception | None = None


def _is_timer(task) -> bool:
    ed = getattr(task.task_spec, "event_definition", None)
    return isinstance(ed, TimerEventDefinition)


def persist(conn, live: LiveInstance, outcome: StepOutcome, evaluate, *, new_row: dict | None = None) -> None:
    """Write everything the operation changed and advance the instance's revision.

    `new_row` holds the columns of a new instance's row: it is inserted instead of updated.
    """
    wf = live.wf
    now = outcome.now
    iid = live.id
    writes, deleted, frontier = store.diff(wf, live.snap)
    store.repredict(frontier)
    fired: list[history.NewEvent] = []     # timers that fired: inputs too, recorded before their effects
    events: list[history.NewEvent] = []    # effects: tasks ready/cancelled, incidents, end
    statements: list[tuple] = []   # (statement, params) executed in order after the instance row

    # -- task rows --
    inserts = [dict(w.row, instance_id=iid) for w in writes if w.is_new]
    updates = [{"b_iid": iid, "b_id": w.row["id"], "state": w.row["state"], "props_json": w.row["props_json"],
                "data_json": w.row["data_json"]} for w in writes if not w.is_new]
    if inserts:
        statements.append((instance_task.insert(), inserts))
    if updates:
        c = instance_task.c
        statements.append((instance_task.update().where(c.instance_id == sa.bindparam("b_iid"),
                                                        c.id == sa.bindparam("b_id"))
                           .values(state=sa.bindparam("state"), props_json=sa.bindparam("props_json"),
                                   data_json=sa.bindparam("data_json")), updates))
    if deleted:
        statements.append((instance_task.delete().where(instance_task.c.instance_id == iid,
                                                        instance_task.c.id.in_([str(t) for t in deleted])), None))

    # -- inbox rows, timer index, incidents: driven by the tasks that changed --
    new_human, new_timers, moved_timers, new_incidents = [], [], [], []
    closed_human: list[tuple[str, str]] = []
    gone_timers: list[str] = []
    for w in writes:
        task, tid, state = w.task, w.task.id, w.task.state
        if tid in live.open_human and state != TaskState.READY:
            status = human_tasks.closing_status(task)
            closed_human.append((str(tid), status))
            live.open_human.discard(tid)
            if status == "cancelled":
                events.append(history.NewEvent("task_cancelled", task_id=str(tid), element_id=task.task_spec.bpmn_id))
        elif state == TaskState.READY and tid not in live.open_human and human_tasks.is_human(task):
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
                if state == TaskState.COMPLETED:
                    fired.append(_timer_fired(task, old, now))
        if state == TaskState.ERROR and tid not in live.errored:
            new_incidents.append(task)
    for tid in deleted:
        if tid in live.open_human:
            closed_human.append((str(tid), "cancelled"))
            live.open_human.discard(tid)
        if tid in live.timers:
            gone_timers.append(str(tid))
            live.timers.pop(tid)

    for tid, status in closed_human:
        statements.append((human_task.update().where(human_task.c.id == tid).values(
            status=status, completed_by=outcome.completed_by.get(tid) if status == "completed" else None,
            completed_at=now), None))
    if new_human:
        rows = [human_tasks.new_row(t, iid, live.version.process_key, live.version.lanes, now, evaluate)
                for t in new_human]
        statements.append((human_task.insert(), rows))
        for t, r in zip(new_human, rows):
            live.open_human.add(t.id)
            events.append(history.NewEvent("task_ready", task_id=r["id"], element_id=r["element_id"], data={
                "name": r["name"], "lane": r["lane"], "role": r["candidate_role"],
                "department": r["candidate_department"], "form_key": r["form_key"],
                "due_at": r["due_at"].isoformat() if r["due_at"] else None}))

    if gone_timers:
        statements.append((timer.delete().where(timer.c.task_id.in_(gone_timers)), None))
    for task, due, old in moved_timers:  # a cycle timer fired and re-armed
        statements.append((timer.update().where(timer.c.task_id == str(task.id))
                           .values(due_at=due, lease_owner=None, lease_until=None), None))
        live.timers[task.id] = due
        if old <= now:
            fired.append(_timer_fired(task, old, now))
    if new_timers:
        statements.append((timer.insert(), [
            {"task_id": str(t.id), "instance_id": iid, "element_id": t.task_spec.bpmn_id,
             "kind": type(t.task_spec.event_definition).__name__, "due_at": due} for t, due in new_timers]))
        for t, due in new_timers:
            live.timers[t.id] = due

    for task in new_incidents:
        err = outcome.error
        line = getattr(err, "line_number", None)
        line = line if isinstance(line, int) else None
        message = _error_message(err, task)
        statements.append((incident.insert(), [{
            "instance_id": iid, "task_id": str(task.id), "element_id": task.task_spec.bpmn_id,
            "message": message, "script_line": line, "created_at": now}]))
        live.errored.add(task.id)
        events.append(history.NewEvent("instance_errored", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                                       data={"message": message, "line": line}))

    # -- status and history --
    old_status = live.status
    if live.errored:
        live.status = "error"
    elif not frontier:
        live.status = "completed" if wf.success else "cancelled"
    else:
        live.status = "active"
    ended = live.status in ("completed", "cancelled") and old_status != live.status
    if ended:
        events.append(history.NewEvent(f"instance_{live.status}",
                                       data={"data": spiff.registry.convert(spiff.registry.clean(wf.data))}))
    events = outcome.events + fired + events
    if events:
        # The first (input) event records the state it led to, so that a replay can check it.
        first = events[0]
        first.data = dict(first.data, after={"status": live.status, "active": sorted(
            t.task_spec.bpmn_id for t in frontier
            if t.state != TaskState.STARTED and getattr(t.task_spec, "bpmn_id", None))})
    for ev in events:
        if ev.actor is None:
            ev.actor = outcome.actor
    rows, seq, head = history.chain_rows(iid, iid, live.event_seq, live.event_head, now, events)
    values = dict(revision=live.revision + 1, status=live.status, updated_at=now, event_seq=seq, event_head=head,
                  workflow_json=store.workflow_shell(wf))
    if ended:
        values["ended_at"] = now

    # -- execute, instance row first: it is the lock and the optimistic revision check --
    if new_row is not None:
        conn.execute(process_instance.insert().values(**new_row, **values))
    else:
        res = conn.execute(process_instance.update().where(
            process_instance.c.id == iid, process_instance.c.revision == live.revision).values(**values))
        if res.rowcount != 1:
            raise ConcurrentUpdate(f"instance {iid} was changed by someone else meanwhile; reload and try again")
    for stmt, params in statements:
        conn.execute(stmt, params) if params is not None else conn.execute(stmt)
    if rows:
        conn.execute(event.insert(), rows)
    live.revision += 1
    live.event_seq, live.event_head = seq, head


def _timer_fired(task, due: datetime, now: datetime) -> history.NewEvent:
    return history.NewEvent("timer_fired", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                            data={"due_at": due.isoformat(), "clock": now.isoformat()})


def _error_message(err, task) -> str:
    if err is None:
        return f"task {task.task_spec.bpmn_id} failed"
    msg = getattr(err, "error", None) or str(err)
    return str(msg)


