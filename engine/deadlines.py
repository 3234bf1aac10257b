"""Turning a due expression into a moment: ISO 8601 durations and dates (working days come later)."""
from __future__ import annotations

from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def due_from_value(value, now: datetime) -> datetime | None:
    """`value` is what a due expression evaluated to: an ISO duration/date string or a datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    if text.startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(text)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    return TimerEventDefinition.get_datetime(text)


def timer_due(task) -> datetime | None:
    """When a WAITING timer task falls due, from what SpiffWorkflow computed for it."""
    value = task.task_spec.event_definition.details(task).value
    if value is None:
        return None
    if isinstance(value, dict):  # cycle: {'cycles': n, 'next': iso, 'duration': s}
        value = value.get("next")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return TimerEventDefinition.get_datetime(value)
