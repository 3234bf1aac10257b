"""The use cases of official documents, each one call that says who may and owns its transaction:
what a step produces and what was generated (the task page), generating, the files, the preview,
the documents of a clue or a campaign, and the template versions process owners upload.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from engine.db.schema import process_instance
from engine.db.transactions import read_transaction, write_transaction
from engine.deadlines.workdays import BEIJING
from engine.documents import checking, fields as doc_fields, kinds as doc_kinds, numbering, pdf, rendering, sealing
from engine.documents import templates
from engine.errors import Invalid, NotFound, Problem
from engine.history import canonical_json
from engine.inbox import attachments, drafts
from engine.inbox.tasks import viewable
from engine.org.people import Principal
from engine.permissions import can_view_instance, can_work, may_edit_processes, may_handle_clues, require

MASKED = "（举报人信息已隐去）"

# (conn, principal, instance_id, now, kind) -> (name, contact) or None; the clue room's reveal,
# recorded as a reveal event in the same transaction (see engine.clues.letters).
ReporterSource = Callable[..., "tuple[str | None, str | None] | None"]


@dataclass
class StepDocument:
    kind: str
    numbered: bool
    to_reporter: bool
    generated: list[dict] = field(default_factory=list)     # newest first
    unknown: bool = False                                    # not in documents/kinds.json
    may_generate: bool = False                               # the viewer may do the step now


def _visible(p: Principal, doc: dict) -> bool:
    return not doc["reveals_reporter"] or may_handle_clues(p)


def for_task(engine, p: Principal, task_id: str) -> list[StepDocument]:
    """The documents the task's step produces, each with the versions generated so far."""
    task = viewable(engine, p, task_id)
    with read_transaction(engine.db) as conn:
        declared = doc_fields.task_documents(engine, conn, task)
        if not declared:
            return []
        done = [d for d in sealing.documents(conn, instance_ids=[task.instance_id]) if _visible(p, d)]
    out = []
    catalogue = doc_kinds.load_kinds()
    for key in declared:
        kind = catalogue.get(key)
        if kind is None:        # a diagram naming a kind the catalogue lacks: shown, not generated
            out.append(StepDocument(key, False, False, [], unknown=True))
            continue
        out.append(StepDocument(key, kind.number is not None, kind.to_reporter,
                                list(reversed([d for d in done if d["kind"] == key])), may_generate=can_work(p, task)))
    return out


def generate(engine, p: Principal, task_id: str, kind_key: str, *, reporter: ReporterSource | None = None) -> dict:
    """Generate the step's document from the instance's data (and the person's saved draft): a number
    if the kind has one, the template version the task opened with, sealed on the instance."""
    task = viewable(engine, p, task_id)
    require(can_work(p, task), "此任务不在你的职责范围内，不能生成公文")
    kind = doc_kinds.kind(kind_key)
    instance = engine.show(task.instance_id)
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        if kind.key not in doc_fields.task_documents(engine, conn, task):
            raise Invalid(f"此步骤不生成“{kind.key}”", [Problem("此步骤不生成该公文", field="kind", code="not_declared")])
        opened = task.created_at
        opened = datetime.fromisoformat(opened) if isinstance(opened, str) else opened
        template_version, template = templates.current(conn, kind, as_of=opened)
        draft = drafts.load(conn, task_id, p.username)
        data = {**instance.data, **(draft[0] if draft else {})}
        values = doc_fields.document_values(engine, conn, kind, data, business_key=instance.business_key, now=now)
        data_sha256 = hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()
        number = None
        if kind.number:
            number = numbering.allocate(conn, kind.number, now.astimezone(BEIJING).year, by=p.username, now=now,
                                        instance_id=instance.id).text
            values["doc_number"] = number
        revealed = False
        if kind.to_reporter:
            identity = reporter(conn, p, instance.id, now, kind.key) if reporter is not None else None
            revealed = identity is not None
            name, contact = identity if identity is not None else (MASKED, MASKED)
            values.update(reporter_name=name or "", reporter_contact=contact or "")
        docx = rendering.render(template, values)
        label = number or instance.business_key or instance.id[:8]
        return sealing.seal(conn, instance_id=instance.id, task_id=task_id, kind=kind.key,
                            template_version=template_version, number=number, data_sha256=data_sha256, docx=docx,
                            filename=f"{kind.key}_{label}.docx", reveals_reporter=revealed, by=p.username, now=now)


def _document(engine, p: Principal, conn, document_id: int) -> dict:
    found = sealing.documents(conn, document_id=document_id)
    if not found or not can_view_instance(conn, p, found[0]["instance_id"]) or not _visible(p, found[0]):
        raise NotFound(f"公文 {document_id} 不存在", field="document_id")
    return found[0]


def docx_file(engine, p: Principal, document_id: int) -> tuple[dict, bytes]:
    with read_transaction(engine.db) as conn:
        doc = _document(engine, p, conn, document_id)
        return attachments.content(conn, doc["docx_id"])


def pdf_file(engine, p: Principal, document_id: int) -> tuple[dict, bytes]:
    """The document as PDF: converted by LibreOffice the first time (outside any transaction), then sealed."""
    with read_transaction(engine.db) as conn:
        doc = _document(engine, p, conn, document_id)
        if doc["pdf_id"] is not None:
            return attachments.content(conn, doc["pdf_id"])
        _meta, docx = attachments.content(conn, doc["docx_id"])
    converted = pdf.to_pdf(docx)
    with write_transaction(engine.db) as conn:
        pdf_id = sealing.seal_pdf(conn, doc, converted, by=p.username, now=engine.clock.now())
        return attachments.content(conn, pdf_id)


def preview(engine, p: Principal, document_id: int) -> tuple[dict, list[dict]]:
    """The document and its paragraphs (`rendering.paragraphs`), for the preview page."""
    with read_transaction(engine.db) as conn:
        doc = _document(engine, p, conn, document_id)
        _meta, docx = attachments.content(conn, doc["docx_id"])
    return doc, rendering.paragraphs(docx)


def for_instances(engine, p: Principal, instance_ids: list[str]) -> list[dict]:
    """The documents generated on instances `p` may see."""
    with read_transaction(engine.db) as conn:
        allowed = [i for i in instance_ids if can_view_instance(conn, p, i)]
        return [d for d in sealing.documents(conn, instance_ids=allowed) if _visible(p, d)] if allowed else []


def of_instance(engine, p: Principal, instance_id: str) -> list[dict]:
    """The documents of an instance and of the instances it started (a campaign's departments' work),
    as far as `p` may see them; NotFound when `p` may not see the instance itself."""
    with read_transaction(engine.db) as conn:
        if not can_view_instance(conn, p, instance_id):
            raise NotFound(f"流程实例 {instance_id} 不存在", field="instance_id")
        family = [instance_id] + list(conn.execute(sa.select(process_instance.c.id)
                                                   .where(process_instance.c.parent_id == instance_id)).scalars())
        allowed = [i for i in family if i == instance_id or can_view_instance(conn, p, i)]
        return [d for d in sealing.documents(conn, instance_ids=allowed) if _visible(p, d)]


# -- templates (process owners) ------------------------------------------------------------------

@dataclass
class TemplateOverview:
    kind: doc_kinds.Kind
    versions: list[templates.TemplateVersion]
    fields: dict


def template_kinds(engine, p: Principal) -> list[TemplateOverview]:
    require(may_edit_processes(p), "只有流程管理员可以管理公文模板")
    with read_transaction(engine.db) as conn:
        return [TemplateOverview(k, templates.history(conn, k), {}) for k in doc_kinds.load_kinds().values()]


def template_detail(engine, p: Principal, kind_key: str) -> TemplateOverview:
    require(may_edit_processes(p), "只有流程管理员可以管理公文模板")
    kind = doc_kinds.kind(kind_key)
    with read_transaction(engine.db) as conn:
        return TemplateOverview(kind, templates.history(conn, kind), doc_fields.provided(engine, conn, kind))


def template_file(engine, p: Principal, kind_key: str, version: int) -> bytes:
    require(may_edit_processes(p), "只有流程管理员可以管理公文模板")
    kind = doc_kinds.kind(kind_key)
    with read_transaction(engine.db) as conn:
        return templates.numbered(conn, kind, version)


def upload_template(engine, p: Principal, kind_key: str, filename: str | None, data: bytes,
                    note: str | None = None) -> templates.TemplateVersion:
    """Check an uploaded template (untrusted) and store it as the kind's next version."""
    require(may_edit_processes(p), "只有流程管理员可以管理公文模板")
    kind = doc_kinds.kind(kind_key)
    if not filename:
        raise Invalid("请选择模板文件", [Problem("请选择模板文件", field="template", code="required")])
    with write_transaction(engine.db) as conn:
        checking.check(filename, data, set(doc_fields.provided(engine, conn, kind)))
        return templates.save(conn, kind, data, saved_by=p.username, now=engine.clock.now(),
                              note=(note or "").strip()[:2000] or None)


def void_number(engine, by: str, kind: str, year: int, number: int, reason: str) -> dict:
    """Void (作废) a document number: it stays recorded, is never given again, and the administration
    log says who did it and why (`qinglian void-number`)."""
    from engine.org import admin_log
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        voided = numbering.void(conn, kind, year, number, by=by, now=now, reason=reason)
        admin_log.record(conn, now, "document_number_voided", actor=by,
                         data={"number": voided["text"], "reason": voided["void_reason"]})
    return voided
