"""Separation of duties (职责分离), run time: who may not perform a step because they performed another.

A user task's property `notPerformedBy` names steps of the same process — user tasks, or a start
event (whoever started the instance) — e.g. an approval `notPerformedBy="register,triage"`: no one who
registered the clue or proposed its disposal may approve it. Deployment checks the names
(`engine.bpmn.validation`); the engine refuses the claim, the hand-over to such a person and the
completion by them (`check_performer`, which asks recusal too), whatever door the request came by.
"""
from __future__ import annotations

import sqlalchemy as sa

from engine.bpmn import spiff
from engine.db.schema import human_task
from engine.errors import Forbidden
from engine.runtime import recusal

PROPERTY = "notPerformedBy"


def barred_steps(task) -> list[str]:
    """The steps named by the task's `notPerformedBy`."""
    value = spiff.task_properties(task).get(PROPERTY) or ""
    return [n.strip() for n in value.split(",") if n.strip()]


def _start_events(live) -> set[str]:
    return {ts.bpmn_id for ts in live.version.spec.task_specs.values()
            if type(ts).__name__ == "StartEvent" and getattr(ts, "bpmn_id", None)}


def performers(conn, live, steps: list[str]) -> dict[str, str]:
    """username -> the step they performed, of `steps`, in this instance (completed tasks; the
    starter for a start event)."""
    found: dict[str, str] = {}
    if any(s in _start_events(live) for s in steps) and live.header.get("started_by"):
        found[live.header["started_by"]] = next(s for s in steps if s in _start_events(live))
    for r in conn.execute(sa.select(human_task.c.completed_by, human_task.c.element_id, human_task.c.name)
                          .where(human_task.c.instance_id == live.id, human_task.c.element_id.in_(steps),
                                 human_task.c.completed_by.is_not(None))):
        found.setdefault(r.completed_by, r.name or r.element_id)
    return found


def check_duties(conn, live, task, username: str, *, target: bool = False) -> None:
    """Forbidden when `username` performed a step the task's `notPerformedBy` names."""
    steps = barred_steps(task)
    if not steps:
        return
    step = performers(conn, live, steps).get(username)
    if step is not None:
        who = "该同事" if target else "你"
        raise Forbidden(f"{who}已办理「{_step_name(live, step)}」，按职责分离不能再办理「{task.task_spec.bpmn_name or task.task_spec.bpmn_id}」")


def _step_name(live, step: str) -> str:
    spec = live.version.spec.task_specs.get(step)
    return getattr(spec, "bpmn_name", None) or step


def check_performer(conn, live, task, username: str, *, target: bool = False,
                    exclusions: recusal.Exclusions | None = None) -> None:
    """The engine's safeguards for one person on one task: recusal (回避; `exclusions`, the instance's
    if already read), then separation of duties."""
    recusal.check_person(conn, live.id, username, target=target, found=exclusions)
    check_duties(conn, live, task, username, target=target)
