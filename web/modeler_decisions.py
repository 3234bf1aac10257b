"""Decision tables (DMN) in the browser: the deployed decisions, their versions, and dmn-js to edit
one and deploy it as the next version. The checks are the engine's (`engine.bpmn.decisions`)."""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from engine.bpmn import decisions
from engine.errors import Invalid
from engine.permissions import PROCESS_EDITORS

from . import modeler_messages as messages
from .errors import or_404
from .session import engine, login_required, roles_required

bp = Blueprint("modeler_decisions", __name__, url_prefix="/modeler/decisions")
EDITORS = tuple(sorted(PROCESS_EDITORS))
MAX_XML = decisions.MAX_FILE_BYTES


@bp.get("")
@login_required
def index():
    return render_template("modeler/decisions.html", versions=decisions.listing(engine()),
                           may_edit=g.principal.has(*EDITORS))


@bp.get("/new")
@roles_required(*EDITORS)
def new():
    return render_template("modeler/decision_edit.html", page=decisions.editor(engine(), None), may_edit=True)


@bp.get("/<key>")
@login_required
def edit(key: str):
    with or_404():
        page = decisions.editor(engine(), key)
    return render_template("modeler/decision_edit.html", page=page, may_edit=g.principal.has(*EDITORS))


@bp.get("/<key>/versions/<int:number>.dmn")
@login_required
def version_file(key: str, number: int):
    row = decisions.version_file(engine(), key, number)
    if row is None:
        return Response(status=404)
    resp = Response(row.dmn_xml, mimetype="application/xml")      # a download, never a page of our origin
    resp.headers.set("Content-Disposition", "attachment", filename=row.file_name)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.post("/deploy")
@roles_required(*EDITORS)
def deploy():
    body = request.get_json(silent=True)
    xml = body.get("xml") if isinstance(body, dict) else None
    if not isinstance(xml, str) or not xml.strip() or len(xml.encode("utf-8")) > MAX_XML:
        return jsonify(ok=False, message=_("请提交决策表 XML（最大 1 MB）"), problems=[]), 422
    note = body.get("note") if isinstance(body.get("note"), str) else ""
    try:
        done = decisions.deploy_file(engine(), None, xml.encode("utf-8"), deployed_by=g.principal.username,
                                     note=note.strip()[:2000] or None)
    except Invalid as exc:
        problems = [messages.problem(p.to_dict()) for p in exc.problems]
        return jsonify(ok=False, message=_("决策表有 %(n)s 个问题，不能部署", n=len(problems)), problems=problems), 422
    message = (_("已部署为决策 %(key)s 第 %(n)s 版", key=done["key"], n=done["version"]) if done["created"]
               else _("内容与第 %(n)s 版相同，未产生新版本", n=done["version"]))
    return jsonify(ok=True, message=message, key=done["key"], version=done["version"],
                   url=url_for("modeler_decisions.edit", key=done["key"])), 201
