"""Template versions: a kind's shipped file in `documents/` is its version 1; each upload in the
browser adds version 2, 3… (never changed once saved). A task keeps the version that was current
when it opened: `as_of` its creation time, the latest version saved at or before it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from engine.db.schema import document_template
from engine.documents.kinds import DOCUMENTS_DIR, Kind
from engine.errors import NotFound


@dataclass(frozen=True)
class TemplateVersion:
    kind: str
    version: int
    sha256: str
    note: str | None
    saved_by: str | None        # None for the shipped file
    saved_at: datetime | None


def shipped(kind: Kind, folder: Path | None = None) -> bytes:
    path = Path(folder or DOCUMENTS_DIR) / kind.file
    if not path.exists():
        raise NotFound(f"公文模板文件 {kind.file} 不存在", field="kind")
    return path.read_bytes()


def current(conn, kind: Kind, *, as_of: datetime | None = None, folder: Path | None = None) -> tuple[int, bytes]:
    """(version, content) of the kind's template as of a moment (default: now)."""
    q = sa.select(document_template.c.version, document_template.c.content).where(document_template.c.kind == kind.key)
    if as_of is not None:
        q = q.where(document_template.c.saved_at <= as_of)
    row = conn.execute(q.order_by(document_template.c.version.desc()).limit(1)).one_or_none()
    return (row.version, row.content) if row is not None else (1, shipped(kind, folder))


def numbered(conn, kind: Kind, version: int, folder: Path | None = None) -> bytes:
    if version == 1:
        return shipped(kind, folder)
    row = conn.execute(sa.select(document_template.c.content).where(
        document_template.c.kind == kind.key, document_template.c.version == version)).one_or_none()
    if row is None:
        raise NotFound(f"模板“{kind.key}”第 {version} 版不存在", field="version")
    return row.content


def history(conn, kind: Kind, folder: Path | None = None) -> list[TemplateVersion]:
    first = TemplateVersion(kind.key, 1, hashlib.sha256(shipped(kind, folder)).hexdigest(), "随系统发布", None, None)
    rows = conn.execute(sa.select(document_template.c.version, document_template.c.sha256, document_template.c.note,
                                  document_template.c.saved_by, document_template.c.saved_at)
                        .where(document_template.c.kind == kind.key).order_by(document_template.c.version)).all()
    return [first] + [TemplateVersion(kind.key, r.version, r.sha256, r.note, r.saved_by, r.saved_at) for r in rows]


def save(conn, kind: Kind, content: bytes, *, saved_by: str, now: datetime, note: str | None = None) -> TemplateVersion:
    """Store a checked template as the kind's next version; identical content returns the latest."""
    sha = hashlib.sha256(content).hexdigest()
    latest = conn.execute(sa.select(document_template).where(document_template.c.kind == kind.key)
                          .order_by(document_template.c.version.desc()).limit(1).with_for_update()).one_or_none()
    if latest is not None and latest.sha256 == sha:
        return TemplateVersion(kind.key, latest.version, sha, latest.note, latest.saved_by, latest.saved_at)
    number = latest.version + 1 if latest is not None else 2
    conn.execute(document_template.insert().values(kind=kind.key, version=number, content=content, sha256=sha,
                                                   note=note, saved_by=saved_by, saved_at=now))
    return TemplateVersion(kind.key, number, sha, note, saved_by, now)
