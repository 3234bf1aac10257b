"""Form definitions edited in the browser: a JSON editor with a live preview and the definition's own
checks. Saving makes a new form version; a task already open keeps the version it opened with."""
from __future__ import annotations

import json

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.org import people as org
from engine.permissions import PROCESS_EDITORS
from engine.errors import Invalid, NotFound
from engine.forms import FORM_KEY, check_definition

from . import form_messages
from .session import engine, roles_required

bp = Blueprint("modeler_forms", __name__, url_prefix="/modeler/forms")
EDITORS = tuple(sorted(PROCESS_EDITORS))
MAX_DEFINITION = 512 * 1024
TEMPLATE = {"title": "新表单", "schema": {"type": "object", "required": ["remark"], "properties": {
    "remark": {"type": "string", "title": "说明", "maxLength": 500}}}, "layout": [{"field": "remark", "widget": "textarea"}]}


def _choices() -> dict:
    directory = org.directory(engine())
    return {"person_choices": directory.people, "department_choices": directory.department_choices,
            "attachment_names": {}}


@bp.get("")
@roles_required(*EDITORS)
def index():
    forms = engine().forms
    return render_template("modeler/forms.html", forms=[(k, forms.current_version(k)) for k in forms.keys()])


@bp.get("/<key>")
@roles_required(*EDITORS)
def edit(key: str, text: str | None = None, problems=(), status: int = 200):
    forms = engine().forms
    if not FORM_KEY.match(key):
        raise NotFound(_("表单标识无效"), field="form_key")
    exists = forms.exists(key)
    if text is None:
        definition = forms.get(key) if exists else TEMPLATE
        text = json.dumps(definition, ensure_ascii=False, indent=2)
    return render_template("modeler/form_edit.html", key=key, text=text, problems=problems, exists=exists,
                           versions=forms.version_list(key) if exists else []), status


@bp.post("/<key>")
@roles_required(*EDITORS)
def save(key: str):
    eng = engine()
    text = request.form.get("definition", "")
    note = (request.form.get("note") or "").strip()[:2000] or None
    if len(text.encode("utf-8")) > MAX_DEFINITION:
        return edit(key, text[:MAX_DEFINITION], [_("表单定义过大（最大 512 KB）")], 422)
    try:
        saved = eng.forms.save(key, text, saved_by=g.principal.username, now=eng.clock.now(), note=note)
    except Invalid as exc:
        return edit(key, text, [form_messages.say(p) for p in exc.problems] or [exc.message], 422)
    flash(_("已保存为表单 %(key)s 第 %(n)s 版；已打开的任务仍使用原版本", key=key, n=saved.version), "ok")
    return redirect(url_for("modeler_forms.edit", key=key))


@bp.post("/preview")
@roles_required(*EDITORS)
def preview():
    body = request.get_json(silent=True)
    text = body.get("definition") if isinstance(body, dict) else None
    if not isinstance(text, str) or len(text.encode("utf-8")) > MAX_DEFINITION:
        return jsonify(ok=False, problems=[_("请提交表单定义（JSON，最大 512 KB）")]), 400
    key = body.get("key") if isinstance(body.get("key"), str) and FORM_KEY.match(body["key"]) else "form"
    problems = check_definition(key, text)
    if problems:
        return jsonify(ok=False, problems=[form_messages.say(p) for p in problems])
    html = render_template("modeler/_form_preview.html", definition=json.loads(text), values={}, errors={},
                           **_choices())
    return jsonify(ok=True, problems=[], html=html)
