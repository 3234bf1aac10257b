"""The case panel of a task page: the business object a decision is about (the instance's start data,
seen through a form) and what earlier steps submitted, as the process declares with the task's
`context` property — never more, and only for a viewer who may see the instance.

`context` lists entries separated by `;`, each `step: field, field` (a step's element id; no fields:
all of its form's) or `start(form_key): field, …` for the start data:

    start(clue_register): person_name, person_department, party_member, summary; triage: disposal, opinion

A step done several times (sent back and redone) shows each submission, oldest first.

A task may also show a case view a domain registered (`Connectors.add_view`), fed with one item of
the instance's data — property `caseView`, `name: data_name` — e.g. `records_person_file: person`
shows the file of the person the instance names (党风廉政意见回复), as far as the viewer may read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from engine.db.schema import human_task
from engine.permissions import can_view_instance
from engine.runtime import elements, queries
from engine.runtime.views import HumanTask

CONTEXT = "context"
VIEW = "caseView"


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
    views: dict = field(default_factory=dict)             # case view name -> its read model

    def __bool__(self) -> bool:
        return self.business is not None or bool(self.steps) or bool(self.views)


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


def _views(declared: str | None) -> list[tuple[str, str]]:
    """(view name, data name) per entry of a `caseView` property (`name: data_name; …`)."""
    found = []
    for part in (declared or "").split(";"):
        name, _, item = part.partition(":")
        if name.strip() and item.strip():
            found.append((name.strip(), item.strip()))
    return found


def restricted(definition: dict, names: list[str]) -> dict:
    """The form with only the fields `names` (all when empty), in the form's own order."""
    if not names:
        return definition
    layout = [e for e in definition.get("layout", []) if e.get("field") in names]
    return {**definition, "layout": layout}


def panel(conn, engine, p, task: HumanTask) -> CasePanel:
    """What the task's `context` declares, if `p` may see its instance (else an empty panel)."""
    properties = elements.element_properties(conn, engine.registry, task.instance_id, task.element_id)
    entries = parse(properties.get(CONTEXT))
    found = CasePanel()
    if not (entries or properties.get(VIEW)) or not can_view_instance(conn, p, task.instance_id):
        return found
    for name, item in _views(properties.get(VIEW)):
        fn = engine.connectors.views.get(name)
        if fn is not None:
            value = (queries.instance_data(conn, [task.instance_id]).get(task.instance_id) or {}).get(item)
            shown = fn(conn, engine, p, value)
            if shown is not None:
                found.views[name] = shown
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
