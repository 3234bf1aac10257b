"""What a deployed element declares for a running instance: a task's extension properties, read from
the (immutable, cached) version the instance runs on, and what its completion recorded."""
from __future__ import annotations

import json

import sqlalchemy as sa

from engine.db.schema import event, process_instance


def element_properties(conn, registry, instance_id: str, element_id: str) -> dict:
    """The `spiffworkflow:properties` of `element_id` in the version `instance_id` runs ({} if none)."""
    version_id = conn.execute(sa.select(process_instance.c.process_version_id)
                              .where(process_instance.c.id == instance_id)).scalar()
    if version_id is None:
        return {}
    loaded = registry.load(conn, version_id)
    for spec in (loaded.spec, *loaded.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) == element_id:
                return dict((getattr(ts, "extensions", None) or {}).get("properties") or {})
    return {}


def process_name(conn, registry, instance_id: str) -> str | None:
    """The name the instance's process has in its model (`专项整治·科室宣传动员`), if it has one."""
    version_id = conn.execute(sa.select(process_instance.c.process_version_id)
                              .where(process_instance.c.id == instance_id)).scalar()
    if version_id is None:
        return None
    spec = registry.load(conn, version_id).spec
    return getattr(spec, "description", None) or None


def completions(conn, instance_id: str) -> dict[str, dict]:
    """What each completed task of the instance was completed with: task id -> {element_id, actor,
    at, data}, exactly as its `task_completed` event records it."""
    rows = conn.execute(sa.select(event.c.task_id, event.c.element_id, event.c.actor, event.c.at, event.c.data_json)
                        .where(event.c.chain == instance_id, event.c.type == "task_completed")
                        .order_by(event.c.seq))
    return {r.task_id: {"element_id": r.element_id, "actor": r.actor, "at": r.at,
                        "data": (json.loads(r.data_json) or {}).get("data") or {}} for r in rows}


def last_event_data(conn, instance_id: str, task_id: str | None, event_type: str) -> dict | None:
    """The data of the latest event of `event_type` of the task (None: of the instance), if any."""
    q = sa.select(event.c.data_json).where(event.c.chain == instance_id, event.c.type == event_type)
    if task_id is not None:
        q = q.where(event.c.task_id == task_id)
    found = conn.execute(q.order_by(event.c.seq.desc()).limit(1)).scalar()
    return json.loads(found) if found else None
