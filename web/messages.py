"""Messages: a person's own channels and quiet hours, and the administrators' view of what could not
be sent (with a retry), plus each person's way in and addresses. Each route is one engine call."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Invalid
from engine.messages import preferences, sender
from engine.permissions import ADMINS
from engine.signon import doors

from .session import engine, login_required, roles_required

bp = Blueprint("messages", __name__)
admin_only = roles_required(*ADMINS)


def _problems(exc: Invalid) -> dict[str, str]:
    return {p.field or "_": _(p.message) for p in exc.problems} or {"_": _(exc.message)}


@bp.route("/account/messages", methods=["GET", "POST"])
@login_required
def my_messages():
    errors, values = {}, None
    if request.method == "POST":
        values = {"channels": request.form.getlist("channels"), "quiet_start": request.form.get("quiet_start", ""),
                  "quiet_end": request.form.get("quiet_end", "")}
        try:
            preferences.set_my_preferences(engine(), g.principal.username, values)
        except Invalid as exc:
            errors = _problems(exc)
        else:
            flash(_("消息设置已保存"), "success")
            return redirect(url_for("messages.my_messages"))
    current = preferences.my_preferences(engine(), g.principal.username)
    return render_template("messages/mine.html", values=values or current, addresses=current["addresses"],
                           channels=preferences.CHANNELS, errors=errors), (422 if errors else 200)


@bp.get("/admin/messages")
@admin_only
def problems():
    return render_template("messages/problems.html", **sender.problems_page(engine()))


@bp.post("/admin/messages/<int:message_id>/retry")
@admin_only
def retry(message_id: int):
    sender.retry_failed(engine(), message_id, by=g.principal.username)
    flash(_("已重新排队发送"), "success")
    return redirect(url_for("messages.problems"))


@bp.route("/admin/staff/<username>/sign-on", methods=["GET", "POST"])
@admin_only
def way_in(username: str):
    errors, values = {}, None
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("sign_in_method", *doors.ADDRESSES)}
        try:
            doors.set_way_in(engine(), username, values, by=g.principal.username)
        except Invalid as exc:
            errors = _problems(exc)
        else:
            flash(_("已保存"), "success")
            return redirect(url_for("admin.staff_edit", username=username))
    current = doors.way_in_form(engine(), username)
    return render_template("messages/way_in.html", person=current, values=values or current,
                           methods=doors.METHODS, errors=errors), (422 if errors else 200)
