"""The script engine of an operation: SpiffWorkflow's, sandboxed, with the helpers scripts and
expressions may call (`now`, `working_days`, `monthly`...) and service tasks run by the engine's
registered operators."""
from __future__ import annotations

import json
from datetime import date as date_cls, datetime, time as time_cls, timedelta
from typing import Callable

from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition, TimerEventDefinition

from engine.deadlines.workdays import BEIJING
from engine.runtime import connectors
from engine.sandbox import SandboxedScriptEngine


def end_of_day(value) -> datetime:
    """24:00 Beijing time of a date ("2026-08-20", a date or a datetime): the moment a deadline
    "by 8月20日" passes."""
    if isinstance(value, str):
        try:
            value = date_cls.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValueError(f'"{value}" is not a date like 2026-08-20') from None
    if isinstance(value, datetime):
        value = value.astimezone(BEIJING).date() if value.tzinfo else value.date()
    return datetime.combine(value, time_cls(0), BEIJING) + timedelta(days=1)


def moment(value, name: str) -> datetime:
    """A script's moment argument: a datetime, or an ISO date or datetime string (Beijing if naive)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f'{name}: "{value}" is not a date like 2026-08-20') from None
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a date or a moment, got {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def script_helpers(now: Callable[[], datetime], deadlines) -> dict[str, Callable]:
    """The functions scripts and expressions may call besides the sandbox's builtins."""
    def working_days(n):
        """The end of the n-th working day from now (Beijing time), on the hospital's calendar."""
        return deadlines.calendar().add_working_days(now(), int(n)).due

    def working_days_from(start, n):
        """The end of the n-th working day after the date `start` (e.g. a clue's date of receipt)."""
        # the date itself is day 0: count from its last instant, not from 24:00 (= day 1)
        return deadlines.calendar().add_working_days(end_of_day(start) - timedelta(microseconds=1), int(n)).due

    def monthly(day, shift="next_working_day", after=None):
        """End of the next `day` of a month (moved off holidays), e.g. the monthly report day.

        The month after `after` (a moment or ISO date; default now): a loop that passes its
        previous deadline visits every month, also those a stopped server slept through."""
        start = now() if after is None else moment(after, "after")
        return deadlines.calendar().monthly(int(day), start, shift=shift).due

    def staff_name(username):
        """A staff member's name (for task subjects), read in the operation's transaction."""
        return connectors.staff_name(str(username))
    return {"now": now, "working_days": working_days, "monthly": monthly,
            "working_days_from": working_days_from, "end_of_day": end_of_day, "staff_name": staff_name}


class EngineScripts(SandboxedScriptEngine):
    """The sandbox, plus one courtesy for timers: `working_days(n)` gives a moment, which a
    duration timer needs as a duration from now and a date timer as an ISO string."""

    def __init__(self, now: Callable[[], datetime], operators: connectors.Connectors | None = None, **kwargs):
        super().__init__(**kwargs)
        self._now = now
        self.operators = operators if operators is not None else connectors.builtin()

    def evaluate(self, task, expression, external_context=None):
        value = super().evaluate(task, expression, external_context)
        if isinstance(value, datetime):
            ed = getattr(task.task_spec, "event_definition", None)
            if isinstance(ed, DurationTimerEventDefinition):
                seconds = max(0, int((value - self._now()).total_seconds()))
                return f"PT{seconds}S"
            if isinstance(ed, TimerEventDefinition):
                return value.isoformat()
        return value

    def call_service(self, task, operation_name, operation_params):
        """A service task: the registered operator, with its evaluated parameters; JSON for Spiff."""
        params = {name: p["value"] for name, p in operation_params.items()}
        return json.dumps(self.operators.call_service(operation_name, params, task), ensure_ascii=False,
                          default=str)
