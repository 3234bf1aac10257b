"""The case panel of a task page: the business object a decision is about (the instance's start data,
seen through a form) and what earlier steps submitted, as the process declares with the task's
`context` property — never more, and only for a viewer who may see the instance.

`context` lists entries separated by `;`, each `step: field, field` (a step's element id; no fields:
all of its form's) or `start(form_key): field, …` for the start data:

    start(clue_register): person_name, person_department, party_member, summary; triage: disposal, opinion

A step done several times (sent back and redone) shows each submission, oldest first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from engine.db.schema import human_task
from engine.permissions import can_view_instance
from engine.runtime import elements
from engine.runtime.views import HumanTask

CONTEXT = "context"


@dataclass
class Shown:
    """A submission, with the part of its form the panel shows."""
    title: str
    definition: dict
    data: dict
    by: str | None = None
    at: datetime | None = None


@dataclass
class CasePanel:
    business: Shown | None = None
    steps: list[Shown] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.business is not None or bool(self.steps)


def parse(declared: str | None) -> list[tuple[str, str | None, list[str]]]:
    """(element id or "start", the start's form key, fields) per entry of a `context` property."""
    entries = []
    for part in (declared or "").split(";"):
        head, _, names = part.partition(":")
        head = head.strip()
        if not head:
            continue
        form_key = None
        if head.startswith("start(") and head.endswith(")"):
            head, form_key = "start", head[6:-1].strip()
        entries.append((head, form_key, [n.strip() for n in names.split(",") if n.strip()]))
    return entries


def restricted(definition: dict, names: list[str]) -> dict:
    """The form with only the fields `names` (all when empty), in the form's own order."""
    if not names:
        return definition
    layout = [e for e in definition.get("layout", []) if e.get("field") in names]
    return {**definition, "layout": layout}


def panel(conn, engine, p, task: HumanTask) -> CasePanel:
    """What the task's `context` declares, if `p` may see its instance (else an empty panel)."""
    declared = elements.element_properties(conn, engine.registry, task.instance_id, task.element_id).get(CONTEXT)
    entries = parse(declared)
    found = CasePanel()
    if not entries or not can_view_instance(conn, p, task.instance_id):
        return found
    done = elements.completions(conn, task.instance_id)
    rows = {r.id: r for r in conn.execute(sa.select(human_task).where(human_task.c.id.in_(list(done) or ["-"])))}
    for head, form_key, names in entries:
        if head == "start":
            started = elements.last_event_data(conn, task.instance_id, None, "instance_started") or {}
            definition = engine.forms.get(form_key) if form_key else None
            if definition is not None:
                found.business = Shown(definition.get("title", ""), restricted(definition, names),
                                       started.get("data") or {})
            continue
        for task_id, completion in done.items():
            row = rows.get(task_id)
            if completion["element_id"] != head or task_id == task.id or row is None:
                continue
            definition = engine.forms.for_task(row)
            if definition is not None:
                found.steps.append(Shown(row.name, restricted(definition, names), completion["data"],
                                         completion["actor"], completion["at"]))
    return found
