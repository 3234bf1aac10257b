"""The runtime's answers and the checks at its door: what an operation returns (`InstanceView`, task and
incident dicts), built from memory or from rows, and the checks of ids and data a caller passes in."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff
from engine.errors import Invalid, NotFound, Problem


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


def view_of(live) -> InstanceView:
    """The instance as it stands after an operation, from memory (no extra queries)."""
    h = live.header
    data: dict = {}
    if live.status in ("completed", "cancelled"):
        data = live.wf.data
    else:
        for t in live.frontier:
            data.update(t.data)
    tasks = sorted((task_dict(r) for r in live.human.values()), key=lambda t: (t["created_at"], t["id"]))
    waiting = [{"id": str(t.id), "element_id": t.task_spec.name, "state": TaskState.get_name(t.state)}
               for t in live.frontier if t.state in (TaskState.WAITING, TaskState.ERROR)]
    return InstanceView(live.id, h["process_key"], live.version.version, h["business_key"], live.status,
                        h["started_by"], h["started_at"], h["ended_at"], tasks, waiting,
                        [incident_dict(i) for i in live.incidents.values()], convert(data))


def task_dict(r) -> dict:
    d = dict(r) if isinstance(r, dict) else dict(r._mapping)
    for k in ("created_at", "due_at", "claimed_at", "completed_at", "remind_at", "reminded_at", "next_escalation_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d


def incident_dict(r) -> dict:
    d = dict(r) if isinstance(r, dict) else dict(r._mapping)
    for k in ("created_at", "resolved_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d


def convert(value):
    """Workflow data as plain JSON-able values (datetimes and the like tagged by the serializer)."""
    return spiff.registry.convert(spiff.registry.clean(value))


# -- the door: what callers pass in ---------------------------------------------------------------
def check_data(data) -> dict:
    """Submitted data: a JSON object whose keys are variable names a script may use."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Invalid("data must be a JSON object", [Problem("expected a JSON object", field="data")])
    bad = [k for k in data if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad:
        raise Invalid("data has keys that are not valid variable names",
                      [Problem(f"'{k}' is not a valid variable name", field=f"data.{k}") for k in bad])
    return data


def check_uuid(value: str, field: str) -> None:
    """An id from outside: NotFound (naming the field) unless it is a UUID."""
    try:
        UUID(str(value))
    except ValueError:
        raise NotFound(f"{field.replace('_', ' ')} '{value}' is not a valid id", field=field) from None
