"""Projection of READY user/manual tasks into indexed `human_task` rows the inbox can query."""
from __future__ import annotations

import logging
from datetime import datetime

from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff
from engine.deadlines.policy import TaskPolicy


log = logging.getLogger(__name__)

DEFAULT_PRIORITY = 3


def new_row(task, instance_id: str, process_key: str, lanes: dict, now: datetime, policy: TaskPolicy,
            confidential: str | None = None, starter: str | None = None) -> dict:
    """The inbox row for a task that just became READY: its due date, reminder and department follow
    `policy` (expressions evaluated in the sandbox, the hospital's calendar, the default reminder lead).

    A task in no lane has no candidate role: the instance's starter (`starter`) is its one candidate,
    as in other BPMN engines, so that someone can always act on it (docs/bpmn-support.md)."""
    evaluate = policy.evaluate
    spec = task.task_spec
    props = spiff.task_properties(task)
    lane = spec.lane
    rule = lanes.get(lane) if lane else None
    department = None
    if rule and rule.get("department"):
        try:
            value = evaluate(task, rule["department"])
            department = str(value) if value is not None else None
        except Exception as exc:  # a bad department rule must not lose the task: it stays visible to the role
            log.warning("department rule of lane %r failed: %s", lane, exc)
    due = policy.deadlines.due(props.get("dueIn"), now, lambda e: evaluate(task, e))
    remind_at = None
    lead = props.get("remindBefore", policy.remind_before)
    if due.at is not None and lead:
        remind_at = policy.deadlines.before(due.at, lead, lambda e: evaluate(task, e))
        if remind_at <= now:      # too short a task to warn ahead of time
            remind_at = None
    name = spec.bpmn_name or spec.bpmn_id
    if props.get("subject"):          # whom or what this task is about: "一对一谈心谈话：徐丽"
        try:
            subject = evaluate(task, props["subject"])
            if subject not in (None, ""):
                name = f"{name}：{subject}"[:255]
        except Exception as exc:  # a bad subject must not lose the task: it keeps its plain name
            log.warning("subject of task %s failed: %s", spec.bpmn_id, exc)
    assignee = None
    if props.get("assignee"):         # one person by name, e.g. each signer of a 会签 (`signer`)
        try:
            value = evaluate(task, props["assignee"])
            assignee = str(value)[:64] if value not in (None, "") else None
        except Exception as exc:  # a bad rule must not lose the task: it stays with the lane
            log.warning("assignee of task %s failed: %s", spec.bpmn_id, exc)
    try:
        priority = int(props.get("priority", DEFAULT_PRIORITY))
    except ValueError:
        priority = DEFAULT_PRIORITY
    return {
        "id": str(task.id), "instance_id": instance_id, "process_key": process_key,
        "element_id": spec.bpmn_id, "name": name, "lane": lane,
        "candidate_role": rule["role"] if rule else None, "candidate_department": department,
        "candidate_user": starter if rule is None else None,
        "assignee": assignee, "form_key": props.get("formKey"), "priority": priority, "status": "open",
        "created_at": now, "due_at": due.at, "due_rule": due.rule, "due_provisional": due.provisional,
        "remind_at": remind_at, "reminded_at": None, "escalation_level": 0, "next_escalation_at": due.at,
        "claimed_at": now if assignee else None, "completed_by": None, "completed_at": None, "confidential": confidential,
        "owner": None, "delegation": None,
    }


def is_human(task) -> bool:
    return bool(getattr(task.task_spec, "manual", False))


def closing_status(task) -> str:
    if task is not None and task.state == TaskState.COMPLETED:
        return "completed"
    return "cancelled"
