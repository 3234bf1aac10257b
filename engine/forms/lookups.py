"""What validating a submission needs to know about the world: staff, departments, stored attachments.

The web layer implements `Lookups` over the database; `MemoryLookups` serves tests and demos.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol


@dataclass(frozen=True)
class AttachmentMeta:
    """An attachment already stored (by an earlier upload), as a file field refers to it."""

    id: str
    filename: str
    content_type: str
    size: int


class Lookups(Protocol):
    def is_person(self, username: str) -> bool:
        """Is this an active staff member's username?"""

    def is_department(self, code: str) -> bool:
        """Is this an existing department's code?"""

    def attachment(self, ref: str) -> AttachmentMeta | None:
        """The stored attachment `ref`, or None if unknown or not visible to the submitting user."""


@dataclass
class MemoryLookups:
    people: Mapping[str, str] = field(default_factory=dict)           # username -> name
    departments: Mapping[str, str] = field(default_factory=dict)      # code -> name
    attachments: Mapping[str, AttachmentMeta] = field(default_factory=dict)

    def is_person(self, username: str) -> bool:
        return username in self.people

    def is_department(self, code: str) -> bool:
        return code in self.departments

    def attachment(self, ref: str) -> AttachmentMeta | None:
        return self.attachments.get(ref)
