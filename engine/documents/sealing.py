"""Sealing a generated document: its files become attachments of the instance, its row says who
made it from which data with which template version, and an event on the instance's hash chain
carries the SHA-256 of each file, so a replaced file or a removed document breaks the chain's
verification. Regenerating adds version 2, 3… — nothing is overwritten.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine import history
from engine.db.schema import attachment, event, generated_document, process_instance
from engine.errors import Conflict, NotFound
from engine.inbox import attachments
from engine.inbox.tasks import REPORTER_FIELD

GENERATED, PDF_STORED, NUMBER_VOIDED = "document_generated", "document_pdf_stored", "document_number_voided"
FIELD = "document"      # attachment.field of a document's files (REPORTER_FIELD: one naming the reporter)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _append(conn, instance_id: str, now: datetime, ev: history.NewEvent) -> None:
    """Append one event to the instance's chain, guarded by its revision like every step."""
    row = conn.execute(sa.select(process_instance.c.id, process_instance.c.revision, process_instance.c.event_seq,
                                 process_instance.c.event_head)
                       .where(process_instance.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在", field="instance_id")
    rows, seq, head = history.chain_rows(row.id, row.id, row.event_seq, row.event_head, now, [ev])
    conn.execute(event.insert(), rows)
    done = conn.execute(process_instance.update()
                        .where(process_instance.c.id == row.id, process_instance.c.revision == row.revision)
                        .values(revision=row.revision + 1, event_seq=seq, event_head=head, updated_at=now)).rowcount
    if done != 1:
        raise Conflict("流程实例刚被修改，请重试", field="instance_id")


def seal(conn, *, instance_id: str, task_id: str | None, kind: str, template_version: int, number: str | None,
         data_sha256: str, docx: bytes, filename: str, reveals_reporter: bool, by: str, now: datetime) -> dict:
    """Store a generated .docx as the kind's next version on the instance, and chain it."""
    version = (conn.execute(sa.select(sa.func.max(generated_document.c.version)).where(
        generated_document.c.instance_id == instance_id, generated_document.c.kind == kind)).scalar() or 0) + 1
    field = REPORTER_FIELD if reveals_reporter else FIELD
    stored = attachments.store(conn, instance_id=instance_id, task_id=task_id, filename=filename, data=docx,
                               user=by, now=now, field=field)
    doc_id = conn.execute(generated_document.insert().values(
        instance_id=instance_id, task_id=task_id, kind=kind, version=version, template_version=template_version,
        number_text=number, data_sha256=data_sha256, docx_id=stored["id"], reveals_reporter=reveals_reporter,
        generated_by=by, generated_at=now).returning(generated_document.c.id)).scalar_one()
    _append(conn, instance_id, now, history.NewEvent(GENERATED, actor=by, task_id=task_id, data={
        "document_id": doc_id, "kind": kind, "version": version, "template_version": template_version,
        "number": number, "data_sha256": data_sha256, "docx_sha256": stored["sha256"],
        "reveals_reporter": reveals_reporter}))
    return {"id": doc_id, "kind": kind, "version": version, "template_version": template_version, "number": number,
            "docx_id": stored["id"], "docx_sha256": stored["sha256"], "filename": stored["filename"]}


def seal_pdf(conn, document: dict, pdf: bytes, *, by: str, now: datetime) -> int:
    """Store the PDF rendering of a sealed document (once; a second caller gets the first's)."""
    row = conn.execute(sa.select(generated_document.c.pdf_id).where(generated_document.c.id == document["id"])
                       .with_for_update()).one()
    if row.pdf_id is not None:
        return row.pdf_id
    field = REPORTER_FIELD if document["reveals_reporter"] else FIELD
    name = document["filename"].rsplit(".", 1)[0] + ".pdf"
    stored = attachments.store(conn, instance_id=document["instance_id"], task_id=document["task_id"], filename=name,
                               data=pdf, user=by, now=now, field=field)
    conn.execute(generated_document.update().where(generated_document.c.id == document["id"])
                 .values(pdf_id=stored["id"]))
    _append(conn, document["instance_id"], now, history.NewEvent(PDF_STORED, actor=by, task_id=document["task_id"], data={
        "document_id": document["id"], "kind": document["kind"], "version": document["version"],
        "pdf_sha256": stored["sha256"]}))
    return stored["id"]


_COLUMNS = (generated_document, attachment.c.filename, attachment.c.sha256.label("docx_sha256"))


def documents(conn, *, instance_ids: list[str] | None = None, document_id: int | None = None) -> list[dict]:
    q = sa.select(*_COLUMNS).join(attachment, attachment.c.id == generated_document.c.docx_id)
    if instance_ids is not None:
        q = q.where(generated_document.c.instance_id.in_(instance_ids))
    if document_id is not None:
        q = q.where(generated_document.c.id == document_id)
    return [dict(r._mapping) for r in conn.execute(q.order_by(generated_document.c.id))]


def seal_voided_number(conn, voided: dict, *, by: str, now: datetime) -> None:
    """A voided 文号 given to an instance's document: said on that instance's chain too."""
    if voided.get("instance_id"):
        _append(conn, voided["instance_id"], now, history.NewEvent(NUMBER_VOIDED, actor=by, data={
            "number": voided["text"], "kind": voided["kind"], "year": voided["year"], "reason": voided["void_reason"]}))
