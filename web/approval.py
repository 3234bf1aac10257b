"""The approval operations of the task page: 退回 (send back) and 撤回 (withdraw). Each route is one
call into `engine.inbox`, which says who may; a refusal shows the task page again, input kept."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, Invalid
from engine.inbox import send_back as sending

from . import tasks as task_pages
from .session import engine, login_required

bp = Blueprint("approval", __name__)


@bp.app_template_global()
def sent_back_note(history: list, task_id: str):
    """The send-back that reopened this task, if any (the task page's banner)."""
    return sending.targets_of(history, task_id)


@bp.app_template_global()
def may_withdraw(task: dict) -> bool:
    return sending.can_withdraw(g.principal, task)


def _refused(task_id: str, exc):
    flash(exc.message, "error")
    return task_pages.show(task_id, status=422 if isinstance(exc, Invalid) else 409)


@bp.post("/tasks/<task_id>/send-back")
@login_required
def send_back(task_id: str):
    try:
        sending.send_back(engine(), g.principal, task_id, request.form.get("reason"), request.form.get("to"))
    except (Invalid, Conflict) as exc:
        return _refused(task_id, exc)
    flash(_("已退回，上一步的办理人会收到此任务"), "success")
    return redirect(url_for("inbox.tasks"))


@bp.post("/tasks/<task_id>/withdraw")
@login_required
def withdraw(task_id: str):
    try:
        sending.withdraw(engine(), g.principal, task_id, request.form.get("reason"))
    except (Invalid, Conflict) as exc:
        return _refused(task_id, exc)
    flash(_("已撤回，任务回到你的待办"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))
