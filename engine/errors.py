"""One exception hierarchy for the engine; `web` maps each class to an HTTP status once."""
from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **self.details}


class NotFound(EngineError):
    code = "not_found"


class Conflict(EngineError):
    """The change collides with another one (a concurrent commit, a task already done...)."""

    code = "conflict"


class TaskNotReady(Conflict):
    code = "task_not_ready"


class TaskAlreadyCompleted(Conflict):
    code = "task_already_completed"


class TaskClaimedByOther(Conflict):
    code = "task_claimed_by_other"


class ConcurrentUpdate(Conflict):
    code = "concurrent_update"


class Forbidden(EngineError):
    code = "forbidden"


class Unavailable(EngineError):
    """A service the request needs (the hospital's directory, its sign-on server) did not answer."""

    code = "unavailable"


@dataclass(frozen=True)
class Problem:
    """One validation finding, located as precisely as we can."""

    message: str
    file: str | None = None
    element_id: str | None = None
    line: int | None = None
    field: str | None = None
    code: str = "invalid"

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p)
        if self.element_id:
            where = f"{where} [{self.element_id}]" if where else f"[{self.element_id}]"
        if self.field:
            where = f"{where} {self.field}".strip()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Invalid(EngineError):
    """Bad input. Carries every problem found, not just the first."""

    code = "invalid"

    def __init__(self, message: "str | list[Problem]", problems: list[Problem] | None = None, **details):
        if isinstance(message, list):      # Invalid([Problem(...), ...]): the first problem is the message
            message, problems = (message[0].message if message else "invalid input"), message
        super().__init__(message, **details)
        self.problems = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {p}" for p in self.problems)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["problems"] = [p.to_dict() for p in self.problems]
        return d
