"""What the lower rooms need from the engine to project a task, and nothing more: how to evaluate an
expression on a task, the deadline calculator, and the default reminder and escalation leads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from engine.deadlines.due import Deadlines


@dataclass(frozen=True)
class TaskPolicy:
    evaluate: Callable[[Any, str], Any]      # (Spiff task, expression) -> value, in the sandbox
    deadlines: Deadlines
    remind_before: str | None = "working_days(2)"   # default `remindBefore` of a task with a due date
    escalate_after: str = "working_days(2)"         # default `escalateAfter` between escalation levels
