"""Starting a process from the browser: the processes a person may start (their `startableBy`
roles), and each one's start form, whose data becomes the new instance's data."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import permissions
from engine.errors import NotFound
from engine.inbox import submission
from engine.org import people as org

from .session import engine, login_required

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


@bp.get("/start/<key>")
@login_required
def form(key: str, values=None, errors=None, business_key: str = "", status: int = 200):
    eng = engine()
    info = _startable_or_403(key)
    definition = eng.forms.for_start(info.start_form, roles=g.principal.roles) if info.start_form else None
    return render_template("start.html", info=info, definition=definition, values=values or {},
                           errors=errors or {}, business_key=business_key, attachment_names={},
                           **org.choices(eng)), status


@bp.post("/start/<key>")
@login_required
def submit(key: str):
    """Start the latest version with the start form's data."""
    business_key = (request.form.get("business_key") or "").strip()
    refused = {}
    if len(business_key) > BUSINESS_KEY_MAX:
        refused["business_key"] = _("事项名称最多 %(n)s 个字", n=BUSINESS_KEY_MAX)
    info = _startable_or_403(key)
    try:
        started = submission.start(engine(), g.principal, key, request.form, business_key=business_key,
                                   refused=refused)
    except submission.FormRejected as exc:
        return form(key, values=exc.submission.values, errors=exc.submission.errors, business_key=business_key,
                    status=422)
    view = started.instance
    flash(_("已发起“%(name)s”", name=view.business_key or info.name or key), "success")
    if started.first_task is not None:
        return redirect(url_for("tasks.show", task_id=started.first_task["id"]))
    return redirect(url_for("started.receipt", instance_id=view.id))      # the receipt of what was sent
