"""Official documents (公文) in the browser: the task page's documents section (generate, preview,
download, print), the documents of a clue or a campaign, and the template versions process owners
upload. Each route is one call into `engine.documents.service`."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _

from engine.clues import letters
from engine.documents import kinds as document_kinds, service
from engine.errors import Conflict, Invalid, NotFound
from engine.permissions import OFFICE, PROCESS_EDITORS

from .clues import vault
from .formatting import content_disposition
from .session import engine, login_required, roles_required

bp = Blueprint("documents", __name__)
EDITORS = tuple(sorted(PROCESS_EDITORS))
MAX_UPLOAD = 4 * 1024 * 1024        # the engine's cap is lower; this only bounds what we read


@bp.app_template_filter("document_name")
@bp.app_template_global("document_name")
def document_name(key: str) -> str:
    """A document kind as the reader says it: 受理告知书, or its English name on English pages."""
    if get_locale() is not None and get_locale().language == "en":
        try:
            return document_kinds.kind(key).name_en
        except NotFound:
            return key
    return key


@bp.get("/tasks/<task_id>/documents")
@login_required
def for_task(task_id: str):
    """The task page's documents section (an HTML fragment the page fetches)."""
    step = service.for_task(engine(), g.principal, task_id)
    return render_template("documents/_task.html", task_id=task_id, step=step)


@bp.post("/tasks/<task_id>/documents")
@login_required
def generate(task_id: str):
    made = service.generate(engine(), g.principal, task_id, request.form.get("kind", ""),
                            reporter=letters.reporter_source(vault()))
    flash(_("已生成“%(kind)s”第 %(n)s 版", kind=made["kind"], n=made["version"]), "success")
    return redirect(url_for("documents.preview", document_id=made["id"], task=task_id))


@bp.get("/documents/<int:document_id>")
@login_required
def preview(document_id: int):
    doc, lines = service.preview(engine(), g.principal, document_id)
    return render_template("documents/preview.html", doc=doc, lines=lines, task_id=request.args.get("task"))


def _file(meta: dict, data: bytes, *, inline: bool) -> Response:
    resp = Response(data, mimetype=meta["content_type"])
    resp.headers["Content-Disposition"] = content_disposition("inline" if inline else "attachment", meta["filename"])
    resp.headers["X-Content-SHA256"] = meta["sha256"]
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/documents/<int:document_id>.docx")
@login_required
def docx(document_id: int):
    meta, data = service.docx_file(engine(), g.principal, document_id)
    return _file(meta, data, inline=False)


@bp.get("/documents/<int:document_id>.pdf")
@login_required
def pdf(document_id: int):
    meta, data = service.pdf_file(engine(), g.principal, document_id)
    return _file(meta, data, inline=request.args.get("download") != "1")


@bp.get("/instances/<instance_id>/documents")
@login_required
def of_instance(instance_id: str):
    """The documents of a clue or a campaign (an HTML fragment its page fetches)."""
    docs = service.of_instance(engine(), g.principal, instance_id)
    return render_template("documents/_list.html", docs=docs)


# -- the register of 文号 (the discipline office) --------------------------------------------------

@bp.get("/documents/numbers")
@roles_required(*OFFICE)
def numbers(kind=None, year=None, refused=None, status: int = 200):
    """The numbers of one year, per sequence, issued and voided; each issued one can be voided."""
    found = service.number_register(engine(), g.principal, request.args.get("kind", kind), request.args.get("year", year))
    status = status if status != 200 else (422 if found.problems else 200)
    return render_template("documents/numbers.html", found=found, refused=refused), status


@bp.post("/documents/numbers/void")
@roles_required(*OFFICE)
def void_number():
    form = request.form
    try:
        voided = service.void_number_as(engine(), g.principal, form.get("kind"), form.get("year"), form.get("number"),
                                        form.get("reason"))
    except (Invalid, NotFound, Conflict) as exc:
        problems = exc.problems if isinstance(exc, Invalid) and exc.problems else []
        said = {p.field or "_": _(p.message) for p in problems} or {exc.details.get("field") or "_": _(exc.message)}
        refused = {"kind": form.get("kind", ""), "year": form.get("year", ""), "number": form.get("number", ""),
                   "reason": form.get("reason", ""), "problems": said}
        code = 422 if isinstance(exc, Invalid) else (404 if isinstance(exc, NotFound) else 409)
        return numbers(kind=form.get("list_kind") or None, year=form.get("year") if "year" not in said else None,
                       refused=refused, status=code)
    flash(_("文号 %(number)s 已作废，仍留在登记中", number=voided["text"]), "success")
    return redirect(url_for("documents.numbers", kind=form.get("list_kind") or None, year=voided["year"]))


# -- templates ----------------------------------------------------------------------------------

@bp.get("/modeler/documents")
@roles_required(*EDITORS)
def templates():
    return render_template("documents/templates.html", kinds=service.template_kinds(engine(), g.principal))


@bp.get("/modeler/documents/<kind>")
@roles_required(*EDITORS)
def template(kind: str, problems=(), note: str = "", status: int = 200):
    found = service.template_detail(engine(), g.principal, kind)
    return render_template("documents/template.html", found=found, problems=problems, note=note), status


@bp.post("/modeler/documents/<kind>")
@roles_required(*EDITORS)
def upload(kind: str):
    upload = request.files.get("template")
    note = (request.form.get("note") or "")[:2000]
    data = upload.stream.read(MAX_UPLOAD + 1) if upload is not None else b""
    try:
        saved = service.upload_template(engine(), g.principal, kind, upload.filename if upload else None, data, note)
    except Invalid as exc:
        return template(kind, problems=exc.problems or [], note=note, status=422)
    flash(_("已保存为模板“%(kind)s”第 %(n)s 版；已打开的任务仍使用原版本", kind=kind, n=saved.version), "success")
    return redirect(url_for("documents.template", kind=kind))


@bp.get("/modeler/documents/<kind>/v<int:version>.docx")
@roles_required(*EDITORS)
def template_file(kind: str, version: int):
    data = service.template_file(engine(), g.principal, kind, version)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    resp.headers["Content-Disposition"] = content_disposition("attachment", f"{kind}-v{version}.docx")
    return resp
