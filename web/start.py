"""Starting a process from the browser: the processes a person may start (their `startableBy`
roles), and each one's start form, whose data becomes the new instance's data."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.org import people as org
from engine import permissions
from engine.db.transactions import read_transaction
from engine.errors import Invalid, NotFound
from engine.forms import validate_submission

from .session import engine, login_required
from .taskforms import DbLookups

bp = Blueprint("start", __name__)
BUSINESS_KEY_MAX = 255


def _startable_or_403(key: str):
    try:
        info = engine().process_info(key)
    except NotFound:
        abort(404)
    permissions.require(permissions.can_start(g.principal, info), _("你无权发起此流程"))
    return info


@bp.get("/start")
@login_required
def index():
    infos = sorted((i for i in engine().process_infos().values() if permissions.can_start(g.principal, i)),
                   key=lambda i: i.name or i.key)
    return render_template("start_list.html", processes=infos)


def _form_context(eng) -> dict:
    with read_transaction(eng.db) as conn:
        return {"person_choices": [(p["username"], p["name"]) for p in org.list_staff(conn)],
                "department_choices": [(d["code"], d["name_zh"]) for d in org.departments(conn)],
                "attachment_names": {}}


@bp.get("/start/<key>")
@login_required
def form(key: str, values=None, errors=None, business_key: str = "", status: int = 200):
    eng = engine()
    info = _startable_or_403(key)
    definition = eng.forms.get(info.start_form) if info.start_form else None
    return render_template("start.html", info=info, definition=definition, values=values or {},
                           errors=errors or {}, business_key=business_key, **_form_context(eng)), status


@bp.post("/start/<key>")
@login_required
def submit(key: str):
    """Start the latest version with the start form's data (files are not taken here: attach them
    to the first task)."""
    eng = engine()
    info = _startable_or_403(key)
    business_key = (request.form.get("business_key") or "").strip()
    errors = {}
    if len(business_key) > BUSINESS_KEY_MAX:
        errors["business_key"] = _("事项名称最多 %(n)s 个字", n=BUSINESS_KEY_MAX)
    definition = eng.forms.get(info.start_form) if info.start_form else None
    data, values = {}, {}
    if definition is not None:
        submission = validate_submission(definition, request.form, lookups=DbLookups(eng.db, ""), files=None)
        values = submission.values
        errors.update(submission.errors)
        if submission.ok:
            data = submission.data
    if errors:
        return form(key, values=values, errors=errors, business_key=business_key, status=422)
    try:
        view = eng.start(key, started_by=g.principal.username,
                         business_key=business_key or data.get("name") or None, data=data)
    except Invalid as exc:     # the process's own checks (a service task) refused the data: show each
        errors = {p.field or "_form": p.message for p in exc.problems} or {"_form": exc.message}
        return form(key, values=values, errors=errors, business_key=business_key, status=422)
    flash(_("已发起“%(name)s”", name=view.business_key or info.name or key), "success")
    mine = [t for t in view.tasks if permissions.can_work(g.principal, t)]
    if mine:
        return redirect(url_for("tasks.show", task_id=mine[0]["id"]))
    return redirect(url_for("inbox.tasks", view="mine"))
