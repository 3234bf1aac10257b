"""Browser-edited form versions, stored in the database next to the seed files of `forms/`.

A form's file is its version 1; each save in the browser adds version 2, 3… (a form created in
the browser starts at 1). Versions never change once saved. A human task keeps the version that
was current when it opened: `as_of` its creation time, the latest version saved at or before it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..errors import Invalid, Problem
from engine.db.schema import form_version


@dataclass(frozen=True)
class FormVersion:
    key: str
    version: int
    sha256: str
    note: str | None
    saved_by: str | None      # None for the seed file
    saved_at: datetime | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def latest_row(conn, key: str, as_of: datetime | None = None):
    q = sa.select(form_version).where(form_version.c.form_key == key)
    if as_of is not None:
        q = q.where(form_version.c.saved_at <= as_of)
    return conn.execute(q.order_by(form_version.c.version.desc()).limit(1)).one_or_none()


def numbered_row(conn, key: str, version: int):
    return conn.execute(sa.select(form_version).where(form_version.c.form_key == key,
                                                      form_version.c.version == version)).one_or_none()


def stored_keys(conn) -> set[str]:
    return set(conn.execute(sa.select(form_version.c.form_key).distinct()).scalars())


def history(conn, key: str) -> list[FormVersion]:
    rows = conn.execute(sa.select(form_version.c.form_key, form_version.c.version, form_version.c.sha256,
                                  form_version.c.note, form_version.c.saved_by, form_version.c.saved_at)
                        .where(form_version.c.form_key == key).order_by(form_version.c.version)).all()
    return [FormVersion(r.form_key, r.version, r.sha256, r.note, r.saved_by, r.saved_at) for r in rows]


def save(conn, key: str, definition: dict, *, has_seed: bool, saved_by: str, now: datetime,
         note: str | None = None, problems: list[Problem] | None = None) -> FormVersion:
    """Store `definition` as the next version of `key`; identical content returns the latest one."""
    if problems:
        count = len(problems)
        raise Invalid(f"表单定义有 {count} 处问题，未保存", problems=problems)
    text = json.dumps(definition, ensure_ascii=False, indent=2, sort_keys=False)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    latest = conn.execute(sa.select(form_version).where(form_version.c.form_key == key)
                          .order_by(form_version.c.version.desc()).limit(1).with_for_update()).one_or_none()
    if latest is not None and latest.sha256 == sha:
        return FormVersion(key, latest.version, sha, latest.note, latest.saved_by, latest.saved_at)
    number = latest.version + 1 if latest is not None else (2 if has_seed else 1)
    conn.execute(form_version.insert().values(form_key=key, version=number, definition_json=text, sha256=sha,
                                              note=note, saved_by=saved_by, saved_at=now))
    return FormVersion(key, number, sha, note, saved_by, now)
