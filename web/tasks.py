"""The task page and what a person does there: claim, hand over, comment, attach, save, complete."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import permissions
from engine.inbox import attachments, comments, drafts, handover, submission
from engine.runtime import diagram
from engine.org import people as org
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import EngineError, Invalid, NotFound, Problem

from .session import engine, login_required

bp = Blueprint("tasks", __name__)


def _task_or_404(task_id: str) -> dict:
    try:
        return engine().task(task_id)
    except NotFound:
        abort(404)


def _viewable(task_id: str) -> dict:
    task = _task_or_404(task_id)
    permissions.require(permissions.can_view(g.principal, task), _("你无权查看此任务"))
    return task


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str, submission=None, status: int = 200):
    eng = engine()
    task = _viewable(task_id)
    instance = eng.show(task["instance_id"])
    definition = eng.forms.for_task(task)
    with read_transaction(eng.db) as conn:
        draft = drafts.load(conn, task_id, g.principal.username)
        context = {
            "comments": comments.for_instance(conn, task["instance_id"]),
            "files": attachments.for_instance(conn, task["instance_id"]),
            "people": org.list_staff(conn),
            "departments": org.departments(conn),
            "names": {r["username"]: r["name"] for r in org.list_staff(conn, active_only=False)},
            "department_names": org.department_names(conn),
        }
    context["person_choices"] = [(p["username"], p["name"]) for p in context["people"]]
    context["department_choices"] = [(d["code"], d["name_zh"]) for d in context["departments"]]
    context["attachment_names"] = {str(f["id"]): f["filename"] for f in context["files"]}
    history = eng.events(task["instance_id"])[-20:]
    values = submission.values if submission is not None else (draft[0] if draft else instance.data)
    return render_template(
        "task.html", task=task, instance=instance, definition=definition, history=list(reversed(history)),
        values=values, errors=submission.errors if submission is not None else {},
        draft_saved_at=draft[1] if draft else None,
        can_work=permissions.can_work(g.principal, task), can_reassign=permissions.can_reassign(g.principal, task),
        **context), status


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    task = _viewable(task_id)
    permissions.require(permissions.can_work(g.principal, task), _("此任务不在你的职责范围内"))
    engine().claim(task_id, user=g.principal.username)
    flash(_("已认领任务"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    _viewable(task_id)
    engine().unclaim(task_id, user=g.principal.username)
    flash(_("已退回任务，同岗位的同事可以认领"), "success")
    return redirect(url_for("inbox.tasks"))


def _handover(task_id: str, kind: str):
    task = _viewable(task_id)
    target, _task = handover.hand_over(engine(), g.principal, task, kind, request.form.get("to", ""),
                                       request.form.get("reason", ""))
    flash(_("任务已转交给 %(name)s", name=target.name), "success")
    return redirect(url_for("inbox.tasks"))


@bp.post("/tasks/<task_id>/delegate")
@login_required
def delegate(task_id: str):
    return _handover(task_id, "delegate")


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str):
    return _handover(task_id, "reassign")


@bp.post("/tasks/<task_id>/comments")
@login_required
def comment(task_id: str):
    task = _viewable(task_id)
    eng = engine()
    with write_transaction(eng.db) as conn:
        comments.add(conn, instance_id=task["instance_id"], task_id=task_id, author=g.principal.username,
                     body=request.form.get("body", ""), now=eng.clock.now())
    return redirect(url_for("tasks.show", task_id=task_id) + "#comments")


@bp.post("/tasks/<task_id>/attachments")
@login_required
def attach(task_id: str):
    task = _viewable(task_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("请选择文件"), [Problem(_("请选择文件"), field="file")])
    eng = engine()
    with write_transaction(eng.db) as conn:
        attachments.store(conn, instance_id=task["instance_id"], task_id=task_id, filename=upload.filename,
                          data=upload.read(), user=g.principal.username, now=eng.clock.now())
    flash(_("附件已上传"), "success")
    return redirect(url_for("tasks.show", task_id=task_id) + "#files")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    eng = engine()
    with read_transaction(eng.db) as conn:
        meta = attachments.meta(conn, attachment_id)
        if meta is None or not permissions.can_view_instance(conn, g.principal, meta["instance_id"]):
            abort(404)
        meta, data = attachments.content(conn, attachment_id)
    resp = Response(data, mimetype=meta["content_type"])
    resp.headers.set("Content-Disposition", "attachment", filename=meta["filename"])
    resp.headers["X-Content-SHA256"] = meta["sha256"]
    return resp


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str):
    """Save a draft or complete the task, depending on the button pressed."""
    action = submission.SAVE_DRAFT if request.form.get("action") == "draft" else submission.COMPLETE
    try:
        done = submission.submit(engine(), g.principal, task_id, request.form, request.files, action=action)
    except NotFound:
        abort(404)
    except submission.FormRejected as exc:
        return show(task_id, submission=exc.submission, status=422)
    if action == submission.SAVE_DRAFT:
        flash(_("草稿已保存"), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("任务“%(name)s”已完成", name=done.task["name"]), "success")
    return redirect(url_for("inbox.tasks"))


@bp.get("/instances/<instance_id>/diagram")
@login_required
def instance_diagram(instance_id: str):
    eng = engine()
    with read_transaction(eng.db) as conn:
        if not permissions.can_view_instance(conn, g.principal, instance_id):
            abort(404)
        return jsonify(diagram.instance_diagram(conn, instance_id))
