"""An instance's state as a diagram shows it: the BPMN XML of its version, and which elements are
done, active (waiting on a person or a timer), failed — for the viewer to colour."""
from __future__ import annotations

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine.errors import NotFound
from engine.db.schema import instance_task, process_instance, process_version


def instance_diagram(conn, instance_id: str) -> dict:
    row = conn.execute(sa.select(process_version.c.bpmn_xml, process_version.c.process_key,
                                 process_instance.c.status)
                       .join(process_instance, process_instance.c.process_version_id == process_version.c.id)
                       .where(process_instance.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    states: dict[str, set[str]] = {"completed": set(), "active": set(), "error": set()}
    for name, state in conn.execute(sa.select(instance_task.c.spec_name, instance_task.c.state)
                                    .where(instance_task.c.instance_id == instance_id)):
        if state == TaskState.COMPLETED:
            states["completed"].add(name)
        elif state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            states["active"].add(name)
        elif state == TaskState.ERROR:
            states["error"].add(name)
    states["completed"] -= states["active"] | states["error"]      # a loop back: show where it is now
    return {"process_key": row.process_key, "status": row.status, "xml": row.bpmn_xml,
            **{k: sorted(v) for k, v in states.items()}}
