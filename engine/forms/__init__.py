"""Forms: one JSON definition per user task in `forms/`, the file stem being its key (docs/forms.md).

`FormCatalog` finds definitions; `check_definition` finds mistakes in one (used at deploy);
`validate_submission` checks what a user sent and yields clean data for the workflow. Once the
catalog is attached to a database, forms edited in the browser add versions (`forms.versions`).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

from engine.db.transactions import read_transaction, write_transaction
from ..errors import Invalid, NotFound, Problem
from . import versions
from .definition import KINDS, Field, check_definition, fields, hidden_from, shown_to
from .lookups import AttachmentMeta, Lookups, MemoryLookups
from .submission import Submission, Upload, validate_submission, values_from_data

__all__ = ["FormCatalog", "KINDS", "Field", "check_definition", "fields", "hidden_from", "shown_to",
           "AttachmentMeta", "Lookups", "MemoryLookups", "Submission", "Upload", "validate_submission",
           "values_from_data"]

FORM_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class FormCatalog:
    """Form definitions: the seed files of `forms_dir`, and, once `attach`ed to a database, the
    versions saved in the browser (the latest one wins; a task renders the one of its time)."""

    def __init__(self, forms_dir: Path):
        self.forms_dir = Path(forms_dir)
        self.db = None
        self.option_sources: dict = {}      # name -> fn(conn) -> [(value, title)], see `with_options`

    def attach(self, db) -> None:
        self.db = db

    def _path(self, key: str) -> Path | None:
        if not FORM_KEY.match(key or ""):
            return None
        return self.forms_dir / f"{key}.json"

    def _seed(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path is not None and path.is_file() else None

    def _row(self, key: str, version: int | None = None, as_of: datetime | None = None, conn=None):
        if self.db is None or not FORM_KEY.match(key or ""):
            return None
        if conn is None:
            with read_transaction(self.db) as own:
                return self._row(key, version, as_of, own)
        if version is not None:
            return versions.numbered_row(conn, key, version)
        return versions.latest_row(conn, key, as_of)

    def exists(self, key: str) -> bool:
        return self._seed(key) is not None or self._row(key) is not None

    def get(self, key: str, *, version: int | None = None, as_of: datetime | None = None, conn=None) -> dict:
        """The latest definition of `key`; or its numbered `version`; or the one current `as_of` a
        moment (read in the caller's transaction `conn` when given)."""
        if version is None or version > 1 or self._seed(key) is None:
            row = self._row(key, version, as_of, conn)
            if row is not None:
                return json.loads(row.definition_json)
        path = self._seed(key)
        if path is None or (version is not None and version != 1):
            what = f"form '{key}'" + (f" version {version}" if version is not None else "")
            raise NotFound(f"{what} not found", field="form_key")
        return json.loads(path.read_text(encoding="utf-8"))

    def for_task(self, task, conn=None, *, roles=None) -> dict | None:
        """The definition a human task (the runtime's `HumanTask`: its `form_key` and `created_at`)
        renders and validates against: the version of its opening (read in `conn` when given); given
        `roles`, as a person holding them sees it (`shown_to`)."""
        if not task.form_key:
            return None
        definition = self.with_options(self.get(task.form_key, as_of=task.created_at, conn=conn), conn)
        return definition if roles is None else shown_to(definition, roles)

    def for_start(self, key: str, *, roles=None) -> dict:
        """The definition a start form renders and validates against: the current version, with its
        data-driven choices (`with_options`); given `roles`, as a person holding them sees it (`shown_to`)."""
        definition = self.with_options(self.get(key))
        return definition if roles is None else shown_to(definition, roles)

    def with_options(self, definition: dict, conn=None) -> dict:
        """`definition` with the choices of each select whose layout names `optionsFrom` filled in (as its
        schema's `oneOf`) from the source of that name — so that the page offers, and the check accepts,
        only those. A source nobody registered offers nothing."""
        wanted = [e for e in definition.get("layout") or [] if e.get("optionsFrom")]
        if not wanted or self.db is None:
            return definition
        if conn is None:
            with read_transaction(self.db) as own:
                return self.with_options(definition, own)
        found = json.loads(json.dumps(definition))
        for entry in wanted:
            source = self.option_sources.get(entry["optionsFrom"])
            pairs = list(source(conn)) if source else []
            prop = found["schema"]["properties"][entry["field"]]
            prop["oneOf"] = [{"const": v, "title": t} for v, t in pairs] or [{"const": "", "title": "—"}]
        return found

    def current_version(self, key: str) -> int:
        row = self._row(key)
        return row.version if row is not None else 1

    def keys(self) -> list[str]:
        found = {p.stem for p in self.forms_dir.glob("*.json")} if self.forms_dir.is_dir() else set()
        if self.db is not None:
            with read_transaction(self.db) as conn:
                found |= versions.stored_keys(conn)
        return sorted(found)

    def problems(self, key: str) -> list[Problem]:
        """Every mistake in form `key`'s latest definition (none for a form that does not exist: that is another error)."""
        row = self._row(key)
        if row is not None:
            return check_definition(key, row.definition_json)
        path = self._seed(key)
        if path is None:
            return []
        return check_definition(key, path.read_bytes())

    def version_list(self, key: str) -> list[versions.FormVersion]:
        """Every version of `key`, the seed file first."""
        found = []
        path = self._seed(key)
        if path is not None:
            found.append(versions.FormVersion(key, 1, hashlib.sha256(path.read_bytes()).hexdigest(), None, None, None))
        if self.db is not None:
            with read_transaction(self.db) as conn:
                found.extend(versions.history(conn, key))
        return found

    def save(self, key: str, text: str, *, saved_by: str, now: datetime, note: str | None = None) -> versions.FormVersion:
        """Check `text` (a form definition as JSON) and store it as the next version of `key`."""
        if self.db is None:
            raise RuntimeError("the form catalog is not attached to a database")
        if not FORM_KEY.match(key or ""):
            raise Invalid("表单标识无效", problems=[Problem(
                "a form key is 1–128 letters, digits, '_', '-' or '.'", field="form_key", code="bad_form")])
        problems = check_definition(key, text)
        definition = json.loads(text) if not problems else None
        with write_transaction(self.db) as conn:
            return versions.save(conn, key, definition, has_seed=self._seed(key) is not None, saved_by=saved_by,
                                 now=now, note=note, problems=problems)
