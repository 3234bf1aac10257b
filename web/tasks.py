"""The task page and what a person does there: claim, hand over, comment, attach, save, complete.
Each route is one call into `engine.inbox`, which says who may."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Invalid
from engine.inbox import handover, submission, tasks as inbox_tasks

from .formatting import content_disposition
from .session import engine, login_required

bp = Blueprint("tasks", __name__)


def translated(errors: dict) -> dict:
    """Refusals come from the engine in Chinese: each in the reader's language where the catalog has it."""
    return {k: _(v) if isinstance(v, str) else v for k, v in (errors or {}).items()}


@bp.get("/tasks/<task_id>")
@login_required
def show(task_id: str, rejected=None, status: int = 200, refused: dict | None = None):
    """The task page. `rejected`: the task form refused (its input and errors); `refused`: another of
    the page's forms refused — {"form": "delegate"|"transfer"|"reassign"|"attach", "errors", "values"}."""
    found = inbox_tasks.page(engine(), g.principal, task_id)
    values = rejected.values if rejected is not None else found.values
    return render_template(
        "task.html", task=found.task, instance=found.instance, definition=found.definition,
        history=found.history, values=values, errors=translated(rejected.errors) if rejected is not None else {},
        draft_saved_at=found.draft[1] if found.draft else None,
        can_work=found.can_work, can_reassign=found.can_reassign, can_delegate=found.can_delegate,
        targets=found.targets, process_name=found.process_name, case=found.case,
        refused=dict(refused or {}, errors=translated((refused or {}).get("errors"))),
        comments=found.comments, files=found.files, people=found.people, departments=found.departments,
        names=found.names, department_names=found.department_names,
        person_choices=[(p["username"], p["name"]) for p in found.people],
        department_choices=[(d["code"], d["name_zh"]) for d in found.departments],
        attachment_names={str(f["id"]): f["filename"] for f in found.files}), status


def _problems(exc: Invalid) -> dict[str, str]:
    return {p.field or "_": p.message for p in exc.problems} or {"_": exc.message}


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
    to, reason = request.form.get("to", ""), request.form.get("reason", "")
    try:
        task = handover.hand_over(engine(), g.principal, task_id, kind, to, reason)
    except Invalid as exc:          # the refusal next to the field, with what was chosen and typed
        return show(task_id, status=422, refused={"form": kind, "errors": _problems(exc),
                                                  "values": {"to": to, "reason": reason}})
    name = handover.target_name(engine(), task.assignee)
    if kind == handover.DELEGATE:
        flash(_("已委托 %(name)s 办理，办完后任务会交回给你", name=name), "success")
    else:
        flash(_("任务已转交给 %(name)s", name=name), "success")
    return redirect(url_for("inbox.tasks"))


@bp.post("/tasks/<task_id>/delegate")
@login_required
def delegate(task_id: str):
    return _handover(task_id, handover.DELEGATE)


@bp.post("/tasks/<task_id>/transfer")
@login_required
def transfer(task_id: str):
    return _handover(task_id, handover.TRANSFER)


@bp.post("/tasks/<task_id>/reassign")
@login_required
def reassign(task_id: str):
    return _handover(task_id, handover.REASSIGN)


@bp.get("/tasks/<task_id>/targets")
@login_required
def targets(task_id: str):
    """Whom the task may be handed to, matching `q` (name, pinyin initials, username or department)."""
    found = handover.targets_for(engine(), g.principal, task_id, request.args.get("q", ""))
    return jsonify([{"username": t.username, "name": t.name, "department": t.department_name,
                     "initials": t.initials} for t in found])


@bp.post("/tasks/<task_id>/recuse")
@login_required
def recuse(task_id: str):
    """自行回避: the person declares a conflict of interest on the task; they no longer see it."""
    inbox_tasks.declare_conflict(engine(), g.principal, task_id, request.form.get("reason", ""))
    flash(_("已申请回避，此事项将由纪检监察室另行安排"), "success")
    return redirect(url_for("inbox.tasks"))


@bp.post("/tasks/<task_id>/comments")
@login_required
def comment(task_id: str):
    inbox_tasks.comment(engine(), g.principal, task_id, request.form.get("body", ""))
    return redirect(url_for("tasks.show", task_id=task_id) + "#comments")


@bp.post("/tasks/<task_id>/attachments")
@login_required
def attach(task_id: str):
    upload = request.files.get("file")
    try:
        inbox_tasks.attach(engine(), g.principal, task_id, upload.filename if upload else None,
                           upload.read() if upload else b"")
    except Invalid as exc:          # a refused file: said next to the upload, on the task page
        return show(task_id, status=422, refused={"form": "attach", "errors": _problems(exc), "values": {}})
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
    action = {"draft": submission.SAVE_DRAFT, "resolve": submission.RESOLVE}.get(request.form.get("action"),
                                                                                submission.COMPLETE)
    try:
        done = submission.submit(engine(), g.principal, task_id, request.form, request.files, action=action)
    except submission.FormRejected as exc:
        return show(task_id, rejected=exc.submission, status=422)
    if action == submission.SAVE_DRAFT:
        flash(_("草稿已保存"), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    if action == submission.RESOLVE:
        flash(_("已办完并交回委托人"), "success")
        return redirect(url_for("inbox.tasks"))
    flash(_("任务“%(name)s”已完成", name=done.task.name), "success")
    return redirect(url_for("inbox.tasks"))


@bp.get("/instances/<instance_id>/diagram")
@login_required
def instance_diagram(instance_id: str):
    return jsonify(inbox_tasks.instance_diagram(engine(), g.principal, instance_id))
