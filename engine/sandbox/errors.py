"""Limits of a script run, and the errors a script meets."""
from __future__ import annotations


from dataclasses import dataclass



SCRIPT_FILENAME = "<string>"   # SpiffWorkflow finds the failing line of a script by this name


@dataclass(frozen=True)
class ScriptLimits:
    """What one evaluation of a script or expression may use."""

    timeout_seconds: float = 2.0        # CPU time of the evaluating thread
    max_items: int = 5_000_000          # largest str/bytes/list/tuple/int(bits) one operation may create
    max_memory_mb: int | None = 256     # backstop: how much the process may grow during one run


class ScriptError(Exception):
    """A script broke a sandbox rule; `line` is the script line when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"{self.message} (line {self.line})" if self.line else self.message


class ScriptTimeout(ScriptError):
    """The script ran past its time limit."""


class ScriptTooLarge(ScriptError):
    """The script would build a value, or use memory, beyond its limits."""


class ScriptForbidden(ScriptError):
    """The script uses something the sandbox does not offer."""
