"""Forms: one JSON definition per user task in `forms/`, the file stem being its key (docs/forms.md).

`FormCatalog` finds definitions; `check_definition` finds mistakes in one (used at deploy);
`validate_submission` checks what a user sent and yields clean data for the workflow.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import NotFound, Problem
from .definition import KINDS, Field, check_definition, fields
from .lookups import AttachmentMeta, Lookups, MemoryLookups
from .submission import Submission, Upload, validate_submission, values_from_data

__all__ = ["FormCatalog", "KINDS", "Field", "check_definition", "fields", "AttachmentMeta", "Lookups",
           "MemoryLookups", "Submission", "Upload", "validate_submission", "values_from_data"]

FORM_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class FormCatalog:
    def __init__(self, forms_dir: Path):
        self.forms_dir = Path(forms_dir)

    def _path(self, key: str) -> Path | None:
        if not FORM_KEY.match(key or ""):
            return None
        return self.forms_dir / f"{key}.json"

    def exists(self, key: str) -> bool:
        path = self._path(key)
        return path is not None and path.is_file()

    def get(self, key: str) -> dict:
        path = self._path(key)
        if path is None or not path.is_file():
            raise NotFound(f"form '{key}' not found", field="form_key")
        return json.loads(path.read_text(encoding="utf-8"))

    def keys(self) -> list[str]:
        if not self.forms_dir.is_dir():
            return []
        return sorted(p.stem for p in self.forms_dir.glob("*.json"))

    def problems(self, key: str) -> list[Problem]:
        """Every mistake in form `key`'s file (none for a form that does not exist: that is another error)."""
        path = self._path(key)
        if path is None or not path.is_file():
            return []
        return check_definition(key, path.read_bytes())
