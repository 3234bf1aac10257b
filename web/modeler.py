"""The BPMN modeler: edit a process in the browser, validate, deploy, compare versions, migrate.

Process owners and administrators edit, deploy and migrate; every signed-in person may look at
the diagrams and versions of the processes they may see (a confidential process only by the roles
it names). Validation and deployment are the engine's own (`Registry.validate` / `deploy`), so the
modeler, the API and `qinglian deploy` report the same problems.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.runtime import migration as instance_migration
from engine.bpmn import decisions, drafts as process_drafts
from engine.errors import Conflict, EngineError, Invalid, NotFound
from engine.bpmn.validation import SourceFile
from engine.permissions import PROCESS_EDITORS

from . import modeler_messages as messages
from .errors import or_404
from .session import engine, login_required, roles_required

bp = Blueprint("modeler", __name__, url_prefix="/modeler")
bp.add_app_template_filter(messages.obstacle, "obstacle")
EDITORS = tuple(sorted(PROCESS_EDITORS))
MAX_XML = 5 * 1024 * 1024
ASSESSED = 100          # running instances assessed for migration on the versions page


def may_edit() -> bool:
    return g.principal.has(*EDITORS)


def _versions(key: str) -> list[dict]:
    with or_404():
        return process_drafts.process_versions(engine(), g.principal, key)


@bp.get("")
@login_required
def index():
    page = process_drafts.index(engine(), g.principal)
    return render_template("modeler/index.html", processes=page["processes"], drafts=page["drafts"],
                           may_edit=may_edit())


@bp.get("/new")
@roles_required(*EDITORS)
def new():
    with or_404():
        page = process_drafts.new_editor(engine(), request.args.get("draft") or None)
    draft = page["draft"]
    return _editor(draft.process_key if draft else None, None, draft, page["roles"])


@bp.get("/<key>")
@login_required
def edit(key: str):
    with or_404():
        page = process_drafts.editor(engine(), g.principal, key, request.args.get("version", type=int))
    return _editor(key, page["row"], page["draft"], page["roles"], page["versions"])


def _editor(key, row, draft, roles, versions=()):
    source = "draft" if draft is not None else ("version" if row is not None else "new")
    return render_template("modeler/edit.html", key=key, row=row, draft=draft, source=source,
                           versions=versions, may_edit=may_edit(), forms=_form_choices(), roles=roles,
                           decisions=decisions.choices(engine()))


def _form_choices() -> list[dict]:
    """Each form by its key and title (表单标题), for the properties panel's pickers."""
    forms = engine().forms
    return [{"key": k, "title": (forms.get(k) or {}).get("title") or k} for k in forms.keys()]


@bp.get("/<key>/versions/<int:number>.bpmn")
@login_required
def version_xml(key: str, number: int):
    with or_404():
        row = process_drafts.version_file(engine(), g.principal, key, number)
    # a download, never a page of our origin: the XML is user-supplied, and a browser would render it
    resp = Response(row.bpmn_xml, mimetype="application/xml")
    resp.headers.set("Content-Disposition", "attachment", filename=row.file_name)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/<key>/versions")
@login_required
def versions(key: str):
    items = _versions(key)
    overview = (instance_migration.running_overview(engine(), g.principal, key) if may_edit()
                else {"instances": [], "hidden": []})
    running = overview["instances"]
    latest = items[-1]["version"] if items else None
    for inst in running[:ASSESSED]:
        inst["verdict"] = _verdict(inst, latest)
    return render_template("modeler/versions.html", key=key, versions=items, running=running,
                           hidden=overview["hidden"], may_edit=may_edit(), latest=items[-1] if items else None)


def _verdict(inst: dict, latest: int | None):
    """Whether the running instance may move to the latest version: None if it is on it already."""
    if inst["version"] == latest or inst["status"] != "active":
        return None
    try:
        return instance_migration.assess(engine(), inst["id"], latest)
    except EngineError as exc:
        return exc.message


@bp.get("/<key>/diff")
@login_required
def diff(key: str):
    items = _versions(key)
    numbers = [v["version"] for v in items]
    a = request.args.get("a", type=int) or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    b = request.args.get("b", type=int) or numbers[-1]
    if a not in numbers or b not in numbers:
        abort(404)
    return render_template("modeler/diff.html", key=key, a=a, b=b, versions=items)


# -- JSON actions of the editor page (session + CSRF header) --------------------------------------------
def _posted_file() -> SourceFile:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str) or not body["xml"].strip():
        raise Invalid(_("请提交流程图 XML"), field="xml")
    content = body["xml"].encode("utf-8")
    if len(content) > MAX_XML:
        raise Invalid(_("流程图过大（最大 5 MB）"), field="xml")
    name = body.get("file_name") if isinstance(body.get("file_name"), str) else ""
    name = name.strip()[:200] or "diagram.bpmn"
    if not name.endswith(".bpmn"):
        name += ".bpmn"
    return SourceFile(name, content)


def _note() -> str | None:
    note = (request.get_json(silent=True) or {}).get("note")
    return note.strip()[:2000] or None if isinstance(note, str) else None


def _problems(exc: Invalid) -> tuple:
    problems = [messages.problem(p.to_dict()) for p in exc.problems]
    message = messages.summary(len(problems)) if len(problems) > 1 else (
        problems[0]["message"] if problems else messages.say(None, exc.message))
    return jsonify(ok=False, message=message, problems=problems), 422


@bp.post("/validate")
@roles_required(*EDITORS)
def validate():
    try:
        engine().registry.validate([_posted_file()])
    except Invalid as exc:
        return _problems(exc)
    return jsonify(ok=True, problems=[])


@bp.post("/draft")
@roles_required(*EDITORS)
def save_draft():
    try:
        f = _posted_file()
        saved = process_drafts.save_draft(engine(), f.name, f.content, note=_note(), saved_by=g.principal.username)
    except Invalid as exc:
        return _problems(exc)
    return jsonify(ok=True, key=saved["key"], new=saved["new"], message=_("草稿已保存（%(key)s）", key=saved["key"]))


@bp.post("/deploy")
@roles_required(*EDITORS)
def deploy():
    try:
        f = _posted_file()
        deployed = process_drafts.deploy(engine(), [f], deployed_by=g.principal.username, note=_note())
    except Invalid as exc:
        return _problems(exc)
    versions_ = [d.to_dict() for d in deployed]
    main = versions_[0]
    message = (_("已部署为 %(key)s 第 %(n)s 版", key=main["process_key"], n=main["version"]) if main["created"]
               else _("内容与第 %(n)s 版相同，未产生新版本", n=main["version"]))
    return jsonify(ok=True, versions=versions_, message=message,
                   versions_url=url_for("modeler.versions", key=main["process_key"])), 201


@bp.post("/<key>/instances/<instance_id>/migrate")
@roles_required(*EDITORS)
def migrate(key: str, instance_id: str):
    _versions(key)
    eng = engine()
    to_version = request.form.get("to_version", type=int)
    try:
        verdict = instance_migration.migrate(eng, instance_id, actor=g.principal.username, to_version=to_version)
    except instance_migration.MigrationRefused as exc:
        reason = ("；".join(f"{o.element_id}：{messages.obstacle(o.reason)}" for o in exc.obstacles)
                  if exc.obstacles else exc.message)
        flash(_("不能迁移：%(reason)s", reason=reason), "error")
    except (NotFound, Conflict) as exc:
        flash(exc.message, "error")
    else:
        flash(_("实例已从第 %(a)s 版迁移到第 %(b)s 版", a=verdict.from_version, b=verdict.to_version), "ok")
    return redirect(url_for("modeler.versions", key=key))
