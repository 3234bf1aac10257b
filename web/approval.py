"""The approval operations of the task page — 退回 (send back), 撤回 (withdraw), 催办 (urge), 抄送 (copy
to) — and the copies a person received (知会). Each route is one call into `engine.inbox`, which says
who may; a refusal shows the task page again, input kept."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, Invalid
from engine.inbox import approvals, bulk as bulk_actions, copies, send_back as sending, signers, submission, urging

from . import tasks as task_pages
from .session import engine, login_required

bp = Blueprint("approval", __name__)


@bp.app_template_global()
def sent_back_note(history: list, task_id: str):
    """The send-back that reopened this task, if any (the task page's banner)."""
    return sending.targets_of(history, task_id)


@bp.app_template_global()
def approval_panel(task: dict):
    """Urges, copies and what the person may do (the task page's approval partial)."""
    return approvals.panel(engine(), g.principal, task)


@bp.app_template_global()
def signer_choices(people: list, task, panel) -> list:
    """Whom the holder may add as a signer: colleagues holding a role the step names, and within a
    confidential process's roles (the engine refuses anyone else)."""
    allowed = set(panel.signer_roles)
    confidential = set(task.confidential.split(",")) if task.confidential else None
    return [p for p in people if p["username"] != g.principal.username and allowed & set(p["roles"])
            and (confidential is None or confidential & set(p["roles"]))]


def _refused(task_id: str, exc):
    problems = getattr(exc, "problems", None) or []
    for message in dict.fromkeys([p.message for p in problems] or [exc.message]):
        flash(message, "error")
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


@bp.post("/tasks/<task_id>/urge")
@login_required
def urge(task_id: str):
    try:
        done = urging.urge(engine(), g.principal, task_id, request.form.get("message"))
    except (Invalid, Conflict) as exc:
        return _refused(task_id, exc)
    flash(_("已催办（第 %(n)s 次）", n=done["urges"]), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<task_id>/copies")
@login_required
def copy(task_id: str):
    try:
        sent = copies.copy(engine(), g.principal, task_id, request.form.getlist("to"), request.form.get("message"))
    except (Invalid, Conflict) as exc:
        return _refused(task_id, exc)
    flash(_("已抄送 %(n)s 人", n=len(sent)), "success")
    return redirect(url_for("tasks.show", task_id=task_id) + "#copies")


@bp.get("/copies")
@login_required
def my_copies():
    return render_template("copies.html", copies=copies.mine(engine(), g.principal))


@bp.get("/copies/<int:copy_id>")
@login_required
def show_copy(copy_id: int):
    page = copies.open_copy(engine(), g.principal, copy_id)
    return render_template("copy.html", page=page)


@bp.post("/inbox/bulk")
@login_required
def bulk():
    """Claim, release or complete the ticked tasks, each on its own; back to the list with a line per task."""
    try:
        results = bulk_actions.run(engine(), g.principal, request.form.get("action", ""),
                                   request.form.getlist("task_ids"))
    except Invalid as exc:
        for p in exc.problems:
            flash(p.message, "error")
        return redirect(url_for("inbox.tasks"))
    done = sum(r.ok for r in results)
    flash(_("批量操作：成功 %(ok)s 个，失败 %(failed)s 个", ok=done, failed=len(results) - done),
          "success" if done == len(results) else "error")
    for r in results:
        if not r.ok:
            flash(_("任务“%(task)s”：%(message)s", task=r.name or r.task_id, message=r.message), "error")
    return redirect(url_for("inbox.tasks"))


@bp.post("/tasks/<task_id>/signers")
@login_required
def add_signer(task_id: str):
    """加签: before (the colleague signs first) or after (this form is kept until they sign)."""
    try:
        signers.add(engine(), g.principal, task_id, request.form.get("signer"), request.form.get("position"),
                    request.form.get("reason"), raw=request.form)
    except submission.FormRejected as exc:
        return task_pages.show(task_id, rejected=exc.submission, status=422)
    except (Invalid, Conflict) as exc:
        return _refused(task_id, exc)
    flash(_("已加签，等待对方签署"), "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.get("/signatures")
@login_required
def my_signatures():
    return render_template("signatures.html", signatures=signers.mine(engine(), g.principal))


@bp.get("/signatures/<int:signature_id>")
@login_required
def show_signature(signature_id: int, status: int = 200):
    return render_template("signature.html", page=signers.page(engine(), g.principal, signature_id)), status


@bp.post("/signatures/<int:signature_id>")
@login_required
def sign(signature_id: int):
    try:
        signers.sign(engine(), g.principal, signature_id, request.form.get("agree") == "yes",
                     request.form.get("opinion"))
    except (Invalid, Conflict) as exc:
        for p in getattr(exc, "problems", None) or [exc]:
            flash(p.message, "error")
        return show_signature(signature_id, status=422 if isinstance(exc, Invalid) else 409)
    flash(_("已签署"), "success")
    return redirect(url_for("approval.my_signatures"))
