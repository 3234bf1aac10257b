"""Files attached to tasks: size and type limits, content stored with its SHA-256."""
from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from pathlib import PurePosixPath

import sqlalchemy as sa

from engine import history
from engine.errors import Invalid, NotFound, Problem
from engine.db.schema import attachment

MAX_BYTES = 10 * 1024 * 1024
# Documents and images a hospital office exchanges; nothing a browser would execute.
ALLOWED = {
    ".pdf": "application/pdf", ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".wps": "application/vnd.ms-works", ".txt": "text/plain", ".csv": "text/csv",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".zip": "application/zip",
    ".ofd": "application/ofd",
}
_META = (attachment.c.id, attachment.c.instance_id, attachment.c.task_id, attachment.c.field, attachment.c.filename,
         attachment.c.content_type, attachment.c.size, attachment.c.sha256, attachment.c.uploaded_by,
         attachment.c.uploaded_at)


def clean_filename(name: str) -> str:
    """The last path component, without control characters; never empty."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip()
    return base[:200] or "file"


def check(filename: str, size: int, *, max_bytes: int = MAX_BYTES, allowed=None, field: str = "file") -> list[Problem]:
    allowed = allowed or ALLOWED
    ext = PurePosixPath(filename.lower()).suffix
    problems = []
    if ext not in allowed:
        problems.append(Problem(f"不支持的文件类型 {ext or '(无扩展名)'}，允许：{'、'.join(sorted(allowed))}",
                                field=field, code="file_type"))
    if size > max_bytes:
        problems.append(Problem(f"文件过大（{size / 1048576:.1f} MB），上限 {max_bytes // 1048576} MB",
                                field=field, code="file_size"))
    if size == 0:
        problems.append(Problem("文件为空", field=field, code="file_empty"))
    return problems


def store(conn, *, instance_id: str, task_id: str | None, filename: str, data: bytes, user: str, now: datetime,
          field: str | None = None) -> dict:
    """Store one file (`Invalid` if its type or size is refused)."""
    filename = clean_filename(filename)
    problems = check(filename, len(data), field=field or "file")
    if problems:
        raise Invalid("附件不符合要求", problems)
    # The type is decided by us from the extension, never taken from the browser.
    content_type = ALLOWED.get(PurePosixPath(filename.lower()).suffix) or mimetypes.guess_type(filename)[0]
    digest = hashlib.sha256(data).hexdigest()
    new_id = conn.execute(attachment.insert().values(
        instance_id=instance_id, task_id=task_id, field=field, filename=filename, content_type=content_type,
        size=len(data), sha256=digest, content=data, uploaded_by=user, uploaded_at=now)
        .returning(attachment.c.id)).scalar_one()
    row = {"instance_id": instance_id, "task_id": task_id, "field": field, "filename": filename,
           "content_type": content_type, "size": len(data), "uploaded_by": user, "uploaded_at": now}
    history.record_row(conn, now, "attachment_added", actor=user, instance_id=instance_id, row_id=new_id,
                       digest=history.attachment_digest(row, digest))
    return {"id": new_id, "filename": filename, "content_type": content_type, "size": len(data), "sha256": digest}


def for_instance(conn, instance_id: str) -> list[dict]:
    rows = conn.execute(sa.select(*_META).where(attachment.c.instance_id == instance_id).order_by(attachment.c.id))
    return [dict(r._mapping) for r in rows]


def meta(conn, attachment_id: int) -> dict | None:
    row = conn.execute(sa.select(*_META).where(attachment.c.id == attachment_id)).one_or_none()
    return dict(row._mapping) if row else None


def content(conn, attachment_id: int) -> tuple[dict, bytes]:
    row = conn.execute(sa.select(*_META, attachment.c.content).where(attachment.c.id == attachment_id)).one_or_none()
    if row is None:
        raise NotFound(f"附件 {attachment_id} 不存在", field="attachment_id")
    d = dict(row._mapping)
    data = d.pop("content")
    if hashlib.sha256(data).hexdigest() != d["sha256"]:
        raise Invalid("附件内容与其 SHA-256 不符，可能已被篡改", [Problem("sha256 mismatch", field="attachment_id")])
    return d, data
