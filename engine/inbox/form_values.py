"""What a task's form shows: an open task's form starts from the person's own draft, or else from the
fields its process maps into it (the task's `prefill` property) — never from whatever the instance
happens to hold; a completed task shows exactly what its completion recorded.

`prefill` lists `field=variable` pairs (or a bare `field` for a variable of the same name), separated
by commas: `talk_date, department=department` — a dotted variable reads into a dict (`member.name`).
"""
from __future__ import annotations

from engine.runtime import elements, queries
from engine.runtime.views import convert
from engine.runtime.views import HumanTask

PREFILL = "prefill"


def mapping(declared: str | None) -> dict[str, str]:
    """Form field -> variable, from a `prefill` property."""
    found: dict[str, str] = {}
    for part in (declared or "").replace("\n", ",").split(","):
        field, _, variable = part.partition("=")
        field, variable = field.strip(), (variable or field).strip()
        if field and variable:
            found[field] = variable
    return found


def _lookup(data: dict, path: str):
    value = data
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
    return value


def mapped(declared: str | None, data: dict) -> dict:
    """The form values the process maps into a task from `data` (the task's own data when it opened)."""
    values = {}
    for field, variable in mapping(declared).items():
        value = _lookup(data, variable)
        if value not in (None, ""):
            values[field] = value
    return values


def starting_values(conn, engine, task: HumanTask, draft: tuple | None) -> dict:
    """An open task's form values: the person's draft, else what a delegate handed back with it, else
    the fields its process maps into it."""
    if draft:
        return draft[0]
    if task.delegation == "resolved":        # back from a delegate: what they filled in
        handed_back = elements.last_event_data(conn, task.instance_id, task.id, "task_resolved")
        if handed_back and handed_back.get("data"):
            return handed_back["data"]
    declared = elements.element_properties(conn, engine.registry, task.instance_id,
                                           task.element_id).get(PREFILL)
    if not declared:
        return {}
    own = queries.data_of_tasks(conn, [task.id]).get(task.id, {})
    return convert(mapped(declared, own))


def submitted_values(conn, task: HumanTask) -> dict:
    """What a completed task was completed with, as its completion event records it ({} if none)."""
    done = elements.completions(conn, task.instance_id).get(task.id)
    return done["data"] if done else {}
