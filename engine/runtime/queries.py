"""The runtime's read side: instances, tasks, incidents and histories as committed, each in one read
transaction — and the only readers of the runtime's storage format (`workflow_json`, Spiff's
`data_json`): other rooms ask `instance_data` and `task_data`."""
from __future__ import annotations

import json

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff
from engine.db.schema import event, human_task, incident, instance_task, process_instance, process_version
from engine.db.transactions import read_transaction
from engine.errors import NotFound
from engine.runtime.views import InstanceView, check_uuid, convert, incident_dict, task_dict

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
        tasks = [task_dict(r) for r in conn.execute(
            sa.select(human_task).where(human_task.c.instance_id == instance_id, human_task.c.status == "open")
            .order_by(human_task.c.created_at, human_task.c.id))]
        c = instance_task.c
        frontier = conn.execute(sa.select(c.id, c.spec_name, c.state, c.data_json).where(
            c.instance_id == instance_id, c.state.in_(_FRONTIER_STATES)).order_by(c.seq)).all()
        incidents = [incident_dict(r) for r in conn.execute(
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


def task(db, task_id: str) -> dict:
    """One inbox row (any status)."""
    check_uuid(task_id, "task_id")
    with read_transaction(db) as conn:
        row = conn.execute(sa.select(human_task).where(human_task.c.id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} not found", field="task_id")
    return task_dict(row)


def list_tasks(db, *, user: str | None = None, status: str = "open", limit: int = 200) -> list[dict]:
    """Inbox rows by status (and assignee), the most urgent first."""
    q = sa.select(human_task).where(human_task.c.status == status)
    if user:
        q = q.where(human_task.c.assignee == user)
    q = q.order_by(human_task.c.due_at.is_(None), human_task.c.due_at, human_task.c.priority,
                   human_task.c.created_at).limit(limit)
    with read_transaction(db) as conn:
        return [task_dict(r) for r in conn.execute(q)]


def incidents(db, *, open_only: bool = True) -> list[dict]:
    q = sa.select(incident).order_by(incident.c.id)
    if open_only:
        q = q.where(incident.c.resolved_at.is_(None))
    with read_transaction(db) as conn:
        return [incident_dict(r) for r in conn.execute(q)]


def events(db, instance_id: str) -> list[dict]:
    """An instance's history, in order."""
    check_uuid(instance_id, "instance_id")
    with read_transaction(db) as conn:
        rows = conn.execute(sa.select(event).where(event.c.chain == instance_id).order_by(event.c.seq)).all()
    return [{"seq": r.seq, "type": r.type, "at": r.at.isoformat(), "actor": r.actor, "task_id": r.task_id,
             "element_id": r.element_id, "data": json.loads(r.data_json), "hash": r.hash} for r in rows]


def _final_data(workflow_json: str) -> dict:
    """The data an instance ended with (its top workflow's data)."""
    return json.loads(workflow_json)["top"]["data"]
