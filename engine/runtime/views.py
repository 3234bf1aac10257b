"""The runtime's answers and the checks at its door: what an operation returns (`InstanceView`, `HumanTask`,
`Incident`), built from memory or from rows, and the checks of ids and data a caller passes in.

Answers carry dates as timezone-aware datetimes; they become ISO strings only at the edge (`to_dict`, used
by the REST API and the CLI), so no layer parses back what another formatted."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
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
    tasks: list[HumanTask]
    waiting: list[dict]
    incidents: list[Incident]
    data: dict
    fired_ids: list[str] = field(default_factory=list)   # timers this operation fired

    @property
    def fired(self) -> int:
        return len(self.fired_ids)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "fired_ids"}
        d["started_at"] = self.started_at.isoformat()
        d["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        d["tasks"] = [t.to_dict() for t in self.tasks]
        d["incidents"] = [i.to_dict() for i in self.incidents]
        return d


def _edge(value):
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True)
class HumanTask:
    """One inbox row: a user task someone may act on (or did), as the runtime answers it."""
    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str | None
    lane: str | None
    candidate_role: str | None
    candidate_department: str | None
    assignee: str | None
    form_key: str | None
    priority: int
    status: str                       # open, completed, cancelled
    created_at: datetime
    due_at: datetime | None = None
    due_rule: str | None = None
    due_provisional: bool = False
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    escalation_level: int = 0
    next_escalation_at: datetime | None = None
    claimed_at: datetime | None = None
    completed_by: str | None = None
    completed_at: datetime | None = None
    confidential: str | None = None   # roles that may see a confidential process's task, comma-separated
    owner: str | None = None          # a delegated task returns to this person
    delegation: str | None = None     # pending while with the delegate, resolved once back

    @classmethod
    def of(cls, r) -> HumanTask:
        """From a `human_task` row (a Row or the runtime's cached dict of one)."""
        m = r if isinstance(r, dict) else r._mapping
        return cls(**{f.name: m[f.name] for f in _TASK_FIELDS if f.name in m})

    def to_dict(self) -> dict:
        """The JSON shape of the edge: dates as ISO 8601 strings."""
        return {f.name: _edge(getattr(self, f.name)) for f in _TASK_FIELDS}


_TASK_FIELDS = fields(HumanTask)


@dataclass(frozen=True, slots=True)
class Incident:
    """A failure of an instance's script, expression or service call, open until retried or resolved."""
    id: int
    instance_id: str
    task_id: str | None
    element_id: str | None
    message: str
    script_line: int | None
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    @classmethod
    def of(cls, r) -> Incident:
        m = r if isinstance(r, dict) else r._mapping
        return cls(**{f.name: m[f.name] for f in _INCIDENT_FIELDS if f.name in m})

    def to_dict(self) -> dict:
        return {f.name: _edge(getattr(self, f.name)) for f in _INCIDENT_FIELDS}


_INCIDENT_FIELDS = fields(Incident)


def view_of(live) -> InstanceView:
    """The instance as it stands after an operation, from memory (no extra queries)."""
    h = live.header
    data: dict = {}
    if live.status in ("completed", "cancelled"):
        data = live.wf.data
    else:
        for t in live.frontier:
            data.update(t.data)
    tasks = sorted((HumanTask.of(r) for r in live.human.values()), key=lambda t: (t.created_at, t.id))
    waiting = [{"id": str(t.id), "element_id": t.task_spec.name, "state": TaskState.get_name(t.state)}
               for t in live.frontier if t.state in (TaskState.WAITING, TaskState.ERROR)]
    return InstanceView(live.id, h["process_key"], live.version.version, h["business_key"], live.status,
                        h["started_by"], h["started_at"], h["ended_at"], tasks, waiting,
                        [Incident.of(i) for i in live.incidents.values()], convert(data))


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
