"""The notification bell: the list of a person's reminders and escalations, each linking to its task."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from engine.inbox import notices

from .session import engine, login_required

bp = Blueprint("notices", __name__)


def bell_count() -> int:
    """The unread count the bell of every page shows (once a request)."""
    if "bell_count" not in g:
        g.bell_count = notices.unread(engine(), g.principal)
    return g.bell_count


@bp.get("/notifications")
@login_required
def index():
    return render_template("notifications.html", items=notices.latest(engine(), g.principal))


@bp.post("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Mark it read and go to its task (or back to the list if it names none)."""
    found = notices.open_one(engine(), g.principal, notification_id)
    if (found.get("link") or "").startswith("/") and not found["link"].startswith("//"):
        return redirect(found["link"])          # a copy, the signatures asked of one, a result
    if found.get("task_id"):
        return redirect(url_for("tasks.show", task_id=found["task_id"]))
    return redirect(url_for("notices.index"))


@bp.post("/notifications/read")
@login_required
def read_all():
    notices.read_all(engine(), g.principal)
    flash(_("通知已全部标为已读"), "success")
    return redirect(url_for("notices.index"))
