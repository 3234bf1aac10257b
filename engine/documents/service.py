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
from engine.permissions import OFFICE, can_view_instance, can_work, may_edit_processes, may_handle_clues, require

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
    log — and the chain of the instance the number was given to — say who did it and why
    (`qinglian void-number`; the page and the API go through `void_number_as`)."""
    from engine.org import admin_log
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        voided = numbering.void(conn, kind, year, number, by=by, now=now, reason=reason)
        admin_log.record(conn, now, "document_number_voided", actor=by,
                         data={"number": voided["text"], "reason": voided["void_reason"]})
        sealing.seal_voided_number(conn, voided, by=by, now=now)
    return voided


# -- the register of numbers (the discipline office) ----------------------------------------------

def may_void_numbers(p: Principal) -> bool:
    return p.has(*OFFICE)


@dataclass
class NumberRegister:
    kind: str | None                      # the sequence shown (函, 告 …), None: every one
    year: int
    sequences: list[tuple[str, list[str]]]  # each sequence and the document kinds numbered by it
    years: list[int]                      # years that have numbers, newest first (and this year)
    numbers: list[dict]                   # in order of sequence and number
    problems: dict[str, str] = field(default_factory=dict)


def _sequences() -> list[tuple[str, list[str]]]:
    found: dict[str, list[str]] = {}
    for k in doc_kinds.load_kinds().values():
        if k.number:
            found.setdefault(k.number, []).append(k.key)
    return sorted(found.items())


def _whole(raw, field_name: str, message: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise Invalid(message, [Problem(message, field=field_name, code="invalid")])
    return value


def _sequence(raw) -> str:
    kind = str(raw or "").strip()
    if kind not in dict(_sequences()):
        raise Invalid("没有这个文号类别", [Problem("没有这个文号类别", field="kind", code="invalid")])
    return kind


def number_register(engine, p: Principal, kind: str | None = None, year: str | int | None = None, *,
                    strict: bool = False) -> NumberRegister:
    """The numbers given out of one year (this year unless `year`), of one sequence or all, issued and
    voided alike. A bad filter is said by field and the year's whole list shown instead (a page), or
    refused (`strict`: the API)."""
    require(may_void_numbers(p), "只有纪检监察室可以查看和作废文号")
    this_year = engine.clock.now().astimezone(BEIJING).year
    problems = {}
    try:
        chosen_kind = _sequence(kind) if kind else None
    except Invalid as exc:
        chosen_kind, problems = None, {**problems, **{q.field: q.message for q in exc.problems}}
    try:
        chosen_year = _whole(year, "year", "年度应为 2000 至 2100 之间的四位数字", 2000, 2100) if year else this_year
    except Invalid as exc:
        chosen_year, problems = this_year, {**problems, **{q.field: q.message for q in exc.problems}}
    if problems and strict:
        raise Invalid(next(iter(problems.values())), [Problem(m, field=f, code="invalid") for f, m in problems.items()])
    with read_transaction(engine.db) as conn:
        years = sorted({y for _k, y in numbering.sequences(conn)} | {this_year, chosen_year}, reverse=True)
        numbers = numbering.register(conn, chosen_kind, chosen_year)
    return NumberRegister(chosen_kind, chosen_year, _sequences(), years, numbers, problems)


def void_number_as(engine, p: Principal, kind, year, number, reason) -> dict:
    """The discipline office voids a number (the page's and the API's form: values as typed)."""
    require(may_void_numbers(p), "只有纪检监察室可以作废文号")
    problems = []
    parsed = {}
    for name, parse in (("kind", lambda: _sequence(kind)),
                        ("year", lambda: _whole(year, "year", "年度应为 2000 至 2100 之间的四位数字", 2000, 2100)),
                        ("number", lambda: _whole(number, "number", "文号序号应为正整数", 1, 10**9))):
        try:
            parsed[name] = parse()
        except Invalid as exc:
            problems.extend(exc.problems)
    if not str(reason or "").strip():
        problems.append(Problem("请填写作废理由", field="reason", code="required"))
    if problems:
        raise Invalid(problems[0].message, problems)
    return void_number(engine, p.username, parsed["kind"], parsed["year"], parsed["number"], str(reason))
