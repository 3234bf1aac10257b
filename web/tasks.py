"""The task page and what a person does there: claim, hand over, comment, attach, save, complete.
Each route is one call into `engine.inbox`, which says who may."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Invalid, Problem
from engine.inbox import handover, submission, tasks as inbox_tasks

from .formatting import content_disposition
from .session import engine, login_required

bp = Blueprint("tasks", __name__)


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str, rejected=None, status: int = 200):
    found = inbox_tasks.page(engine(), g.principal, task_id)
    values = rejected.values if rejected is not None else (found.draft[0] if found.draft else
                                                                found.instance.data)
    return render_template(
        "task.html", task=found.task, instance=found.instance, definition=found.definition,
        history=found.history, values=values, errors=rejected.errors if rejected is not None else {},
        draft_saved_at=found.draft[1] if found.draft else None,
        can_work=found.can_work, can_reassign=found.can_reassign,
        comments=found.comments, files=found.files, people=found.people, departments=found.departments,
        names=found.names, department_names=found.department_names,
        person_choices=[(p["username"], p["name"]) for p in found.people],
        department_choices=[(d["code"], d["name_zh"]) for d in found.departments],
        attachment_names={str(f["id"]): f["filename"] for f in found.files}), status


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    inbox_tasks.claim(engine(), g.principal, task_id)
    flash(_("已认领任务"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    inbox_tasks.unclaim(engine(), g.principal, task_id)
    flash(_("已退回任务，同岗位的同事可以认领"), "success")
    return redirect(url_for("inbox.tasks"))


def _handover(task_id: str, kind: str):
    target, _task = handover.hand_over(engine(), g.principal, task_id, kind, request.form.get("to", ""),
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
    inbox_tasks.comment(engine(), g.principal, task_id, request.form.get("body", ""))
    return redirect(url_for("tasks.show", task_id=task_id) + "#comments")


@bp.post("/tasks/<task_id>/attachments")
@login_required
def attach(task_id: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid(_("请选择文件"), [Problem(_("请选择文件"), field="file")])
    inbox_tasks.attach(engine(), g.principal, task_id, upload.filename, upload.read())
    flash(_("附件已上传"), "success")
    return redirect(url_for("tasks.show", task_id=task_id) + "#files")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    meta, data = inbox_tasks.download(engine(), g.principal, attachment_id)
    resp = Response(data, mimetype=meta["content_type"])
    resp.headers["Content-Disposition"] = content_disposition("attachment", meta["filename"])
    resp.headers["X-Content-SHA256"] = meta["sha256"]
    return resp


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str):
    """Save a draft or complete the task, depending on the button pressed."""
    action = submission.SAVE_DRAFT if request.form.get("action") == "draft" else submission.COMPLETE
    try:
        done = submission.submit(engine(), g.principal, task_id, request.form, request.files, action=action)
    except submission.FormRejected as exc:
        return show(task_id, rejected=exc.submission, status=422)
    if action == submission.SAVE_DRAFT:
        flash(_("草稿已保存"), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("任务“%(name)s”已完成", name=done.task["name"]), "success")
    return redirect(url_for("inbox.tasks"))


@bp.get("/instances/<instance_id>/diagram")
@login_required
def instance_diagram(instance_id: str):
    return jsonify(inbox_tasks.instance_diagram(engine(), g.principal, instance_id))
