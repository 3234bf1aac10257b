"""The runtime's read side: instances, tasks, incidents and histories as committed, each in one read
transaction. Other rooms read instance and task data through `instance_data` and `task_data`, never
the runtime's storage format (`workflow_json`, Spiff's `data_json`)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff
from engine.db.schema import event, human_task, incident, instance_task, process_instance, process_version
from engine.db.transactions import read_transaction
from engine.errors import NotFound
from engine.runtime.views import HumanTask, Incident, InstanceView, check_uuid, convert

_FRONTIER_STATES = (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR)


def show(db, instance_id: str) -> InstanceView:
    """An instance as committed: status, open tasks, waiting elements, open incidents, current data."""
    check_uuid(instance_id, "instance_id")
    with read_transaction(db) as conn:
        row = conn.execute(sa.select(process_instance, process_version.c.version)
                           .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                           .where(process_instance.c.id == instance_id)).one_or_none()
        if row is None:
            raise NotFound(f"instance {instance_id} not found", field="instance_id")
        tasks = [HumanTask.of(r) for r in conn.execute(
            sa.select(human_task).where(human_task.c.instance_id == instance_id, human_task.c.status == "open")
            .order_by(human_task.c.created_at, human_task.c.id))]
        c = instance_task.c
        frontier = conn.execute(sa.select(c.id, c.spec_name, c.state, c.data_json).where(
            c.instance_id == instance_id, c.state.in_(_FRONTIER_STATES)).order_by(c.seq)).all()
        incidents = [Incident.of(r) for r in conn.execute(
            sa.select(incident).where(incident.c.instance_id == instance_id, incident.c.resolved_at.is_(None)))]
    data: dict = {}
    if row.status in ("completed", "cancelled"):
        data = _final_data(row.workflow_json)
    else:
        for f in frontier:
            data.update(spiff.loads(f.data_json))
    waiting = [{"id": f.id, "element_id": f.spec_name, "state": TaskState.get_name(f.state)}
               for f in frontier if f.state in (TaskState.WAITING, TaskState.ERROR)]
    return InstanceView(row.id, row.process_key, row.version, row.business_key, row.status, row.started_by,
                        row.started_at, row.ended_at, tasks, waiting, incidents, convert(data))


_TASK = sa.select(human_task).where(human_task.c.id == sa.bindparam("p_id"))   # built once: asked on every action


def task(db, task_id: str, conn=None) -> HumanTask:
    """One inbox row (any status); in the caller's transaction `conn` when given."""
    check_uuid(task_id, "task_id")
    if conn is not None:
        row = conn.execute(_TASK, {"p_id": task_id}).one_or_none()
    else:
        with read_transaction(db) as own:
            row = own.execute(_TASK, {"p_id": task_id}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} not found", field="task_id")
    return HumanTask.of(row)


def list_tasks(db, *, user: str | None = None, status: str = "open", limit: int = 200) -> list[HumanTask]:
    """Inbox rows by status (and assignee), the most urgent first."""
    q = sa.select(human_task).where(human_task.c.status == status)
    if user:
        q = q.where(human_task.c.assignee == user)
    q = q.order_by(human_task.c.due_at.is_(None), human_task.c.due_at, human_task.c.priority,
                   human_task.c.created_at).limit(limit)
    with read_transaction(db) as conn:
        return [HumanTask.of(r) for r in conn.execute(q)]


def incidents(db, *, open_only: bool = True) -> list[Incident]:
    q = sa.select(incident).order_by(incident.c.id)
    if open_only:
        q = q.where(incident.c.resolved_at.is_(None))
    with read_transaction(db) as conn:
        return [Incident.of(r) for r in conn.execute(q)]


def events(db, instance_id: str) -> list[dict]:
    """An instance's history, in order."""
    check_uuid(instance_id, "instance_id")
    with read_transaction(db) as conn:
        rows = conn.execute(sa.select(event).where(event.c.chain == instance_id).order_by(event.c.seq)).all()
    return [{"seq": r.seq, "type": r.type, "at": r.at.isoformat(), "actor": r.actor, "task_id": r.task_id,
             "element_id": r.element_id, "data": json.loads(r.data_json), "hash": r.hash} for r in rows]


def _final_data(workflow_json: str) -> dict:
    """The data an instance ended with (its top workflow's data, as stored: tagged JSON values)."""
    return json.loads(workflow_json)["top"]["data"]


# -- the read API for other rooms: instance and task data, now or as of a moment ----------------------
_CHUNK = 500     # ids per IN list


def _chunks(ids: Iterable[str]):
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def instance_data(conn, ids: Iterable[str], until: datetime | None = None) -> dict[str, dict]:
    """The data of each instance of `ids` (instance id -> data; unknown ids are left out), with values
    restored (dates, decimals...), in the caller's transaction.

    Now: an ended instance's final data; a running one's current data (its unfinished tasks' merged).
    `until`: as it stood at that moment — left out if it started later; its final data if it ended
    before; else its start data updated with the data of each task completed before then, in the
    order they completed (a task completes holding everything recorded upstream of it).
    """
    p = process_instance.c
    found: dict[str, dict] = {}
    for chunk in _chunks(ids):
        q = sa.select(p.id, p.status, p.ended_at, p.workflow_json).where(p.id.in_(chunk))
        if until is not None:
            q = q.where(p.started_at < until)
        running = []
        for r in conn.execute(q):
            ended = r.status in ("completed", "cancelled") and (until is None or r.ended_at < until)
            if ended:
                found[r.id] = spiff.registry.restore(_final_data(r.workflow_json))
            else:
                running.append(r.id)
        if not running:
            continue
        if until is None:
            c = instance_task.c
            for r in conn.execute(sa.select(c.instance_id, c.data_json).where(
                    c.instance_id.in_(running), c.state.in_(_FRONTIER_STATES)).order_by(c.instance_id, c.seq)):
                found.setdefault(r.instance_id, {}).update(spiff.loads(r.data_json))
            for iid in running:
                found.setdefault(iid, {})
        else:
            found.update(_data_as_of(conn, running, until))
    return found


def _data_as_of(conn, ids: list[str], until: datetime) -> dict[str, dict]:
    found: dict[str, dict] = {}
    completed: dict[str, list[str]] = {}     # instance id -> task ids, in the order of completion
    for e in conn.execute(sa.select(event.c.chain, event.c.type, event.c.task_id, event.c.data_json)
                          .where(event.c.chain.in_(ids), event.c.at < until,
                                 event.c.type.in_(("instance_started", "task_completed")))
                          .order_by(event.c.chain, event.c.seq)):
        if e.type == "instance_started":
            found[e.chain] = spiff.registry.restore(json.loads(e.data_json).get("data") or {})
        elif e.task_id:
            completed.setdefault(e.chain, []).append(e.task_id)
    snapshots: dict[str, str] = {}
    c = instance_task.c
    for chunk in _chunks(t for tids in completed.values() for t in tids):
        snapshots.update(conn.execute(sa.select(c.id, c.data_json).where(c.id.in_(chunk))).all())
    for iid, tids in completed.items():
        for tid in tids:          # parallel branches each add theirs; a later completion wins
            if tid in snapshots:
                found.setdefault(iid, {}).update(spiff.loads(snapshots[tid]))
    return found


def with_inbox_rows(conn, task_ids: Iterable[str]) -> set[str]:
    """Those of `task_ids` that have an inbox row (a retried human task gets its row back; one that
    failed before it ever reached the inbox, e.g. on its due date, gets a new one)."""
    ids = list(task_ids)
    if not ids:
        return set()
    return set(conn.execute(sa.select(human_task.c.id).where(human_task.c.id.in_(ids))).scalars())


def data_of_tasks(conn, task_ids: Iterable[str]) -> dict[str, dict]:
    """The data each task of `task_ids` holds (task id -> data, values restored; unknown ids are left
    out), in the caller's transaction."""
    c = instance_task.c
    found: dict[str, dict] = {}
    for chunk in _chunks(task_ids):
        for r in conn.execute(sa.select(c.id, c.data_json).where(c.id.in_(chunk))):
            found[r.id] = spiff.loads(r.data_json)
    return found


def waiting_elements(conn, ids: Iterable[str]) -> dict[str, list[str]]:
    """The elements each instance of `ids` is waiting at (a timer, a message, a signal), in tree
    order; instances waiting at nothing are left out."""
    c = instance_task.c
    found: dict[str, list[str]] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(sa.select(c.instance_id, c.spec_name).where(
                c.instance_id.in_(chunk), c.state == TaskState.WAITING).order_by(c.instance_id, c.seq)):
            found.setdefault(r.instance_id, []).append(r.spec_name)
    return found


@dataclass(frozen=True)
class TaskData:
    instance_id: str
    task_id: str
    spec_name: str      # the BPMN element id (a multi-instance child: the element id plus a suffix)
    state: int          # SpiffWorkflow TaskState
    data: dict


def task_data(conn, ids: Iterable[str], spec_names: Iterable[str] | None = None,
              until: datetime | None = None) -> list[TaskData]:
    """The data held by the tasks of the instances `ids` (optionally only of the elements
    `spec_names`), values restored, in tree order per instance, in the caller's transaction.

    `until`: only tasks whose completion the history records before then (a human task's
    `task_completed` event); a completed task holds the data it completed with.
    """
    c = instance_task.c
    names = None if spec_names is None else list(spec_names)
    found = []
    for chunk in _chunks(ids):
        q = sa.select(c.instance_id, c.id, c.spec_name, c.state, c.data_json).where(c.instance_id.in_(chunk))
        if names is not None:
            q = q.where(c.spec_name.in_(names))
        if until is not None:
            q = q.where(c.id.in_(sa.select(event.c.task_id).where(
                event.c.chain.in_(chunk), event.c.type == "task_completed", event.c.at < until)))
        for r in conn.execute(q.order_by(c.instance_id, c.seq)):
            found.append(TaskData(r.instance_id, r.id, r.spec_name, r.state, spiff.loads(r.data_json)))
    return found


def stored_states(conn, ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """What the chain's state seal covers (`history.state_digest`), per instance of `ids`: its status,
    its stored workflow and its unfinished tasks' rows with their data, as stored now."""
    from engine.runtime import store
    ids = list(ids)
    t = instance_task.c
    tasks: dict[str, list] = {}
    for r in conn.execute(sa.select(t.instance_id, t.id, t.state, t.props_json, t.data_json)
                          .where(t.instance_id.in_(ids))):
        tasks.setdefault(r.instance_id, []).append(r)
    p = process_instance.c
    return {row.id: (row.status, row.workflow_json, store.frontier_text_of_rows(tasks.get(row.id, [])))
            for row in conn.execute(sa.select(p.id, p.status, p.workflow_json).where(p.id.in_(ids)))}
