"""What the audit pages show: an instance's timeline with the diagram state at every step, and a
per-version heatmap of how often each element ran and how long its tasks took."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine.errors import NotFound
from engine.db.schema import event, human_task, instance_task, process_instance, process_version

DONE_TYPES = ("task_completed", "timer_fired")


def instance_header(conn, instance_id: str) -> dict:
    row = conn.execute(sa.select(process_instance, process_version.c.version, process_version.c.name,
                                 process_version.c.sha256)
                       .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                       .where(process_instance.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return {k: getattr(row, k) for k in ("id", "process_key", "business_key", "status", "started_by", "started_at",
                                         "ended_at", "parent_id", "version", "name", "sha256", "process_version_id",
                                         "event_seq")}


def events(conn, instance_id: str) -> list[dict]:
    rows = conn.execute(sa.select(event.c.seq, event.c.type, event.c.at, event.c.actor, event.c.task_id,
                                  event.c.element_id, event.c.data_json, event.c.hash)
                        .where(event.c.chain == instance_id).order_by(event.c.seq))
    return [{"seq": r.seq, "type": r.type, "at": r.at, "actor": r.actor, "task_id": r.task_id,
             "element_id": r.element_id, "data": json.loads(r.data_json), "hash": r.hash} for r in rows]


def frames(evts: list[dict]) -> list[dict]:
    """The diagram after each event: elements done so far, active ones (tokens), failed ones, and the
    element the event concerns."""
    done: set[str] = set()
    active: list[str] = []
    failed: set[str] = set()
    out = []
    for e in evts:
        after = e["data"].get("after")
        if e["type"] in DONE_TYPES and e["element_id"]:
            done.add(e["element_id"])
        if e["type"] == "instance_errored" and e["element_id"]:
            failed.add(e["element_id"])
        if e["type"] == "instance_retried":
            failed.clear()
        if after is not None:
            new_active = list(after.get("active", []))
            done.update(a for a in active if a not in new_active)
            active = new_active
        out.append({"seq": e["seq"], "current": e["element_id"], "active": sorted(active),
                    "done": sorted(done - set(active)), "error": sorted(failed)})
    return out


def heatmap(conn, version_id: int, date_from: datetime | None = None, date_to: datetime | None = None) -> dict:
    """For the instances of one process version started in [date_from, date_to): how many times each
    element ran, and the count, mean and longest duration in hours of its human tasks."""
    pi = process_instance.c
    scope = [pi.process_version_id == version_id]
    if date_from is not None:
        scope.append(pi.started_at >= date_from)
    if date_to is not None:
        scope.append(pi.started_at < date_to)
    ids = sa.select(pi.id).where(*scope)
    n = conn.execute(sa.select(sa.func.count()).select_from(process_instance).where(*scope)).scalar()
    counts = {r.spec_name: r.n for r in conn.execute(
        sa.select(instance_task.c.spec_name, sa.func.count().label("n"))
        .where(instance_task.c.instance_id.in_(ids), instance_task.c.state == TaskState.COMPLETED)
        .group_by(instance_task.c.spec_name))}
    durations: dict[str, dict] = {}
    for r in conn.execute(sa.select(human_task.c.element_id, human_task.c.created_at, human_task.c.completed_at)
                          .where(human_task.c.instance_id.in_(ids), human_task.c.status == "completed")):
        hours = (r.completed_at - r.created_at).total_seconds() / 3600
        d = durations.setdefault(r.element_id, {"n": 0, "total": 0.0, "max": 0.0})
        d["n"] += 1
        d["total"] += hours
        d["max"] = max(d["max"], hours)
    return {"instances": n, "counts": counts,
            "durations": {k: {"n": d["n"], "mean_hours": round(d["total"] / d["n"], 2),
                              "max_hours": round(d["max"], 2)} for k, d in durations.items()}}
