"""The inbox: my tasks, claimable tasks, due soon, overdue, done; filters, search, saved filters."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.inbox import lists as worklist, saved_filters
from engine.errors import Invalid

from .session import engine, login_required

bp = Blueprint("inbox", __name__)


def nav_counts() -> dict[str, int]:
    if "nav_counts" not in g:          # once a request: the inbox page has counted already
        g.nav_counts = worklist.navigation_counts(engine(), g.principal)
    return g.nav_counts


@bp.get("/")
@login_required
def index():
    return redirect(url_for("inbox.tasks"))


@bp.get("/inbox")
@login_required
def tasks():
    try:
        query = worklist.TaskQuery.parse(request.args)
        problems = {}
    except Invalid as exc:
        query, problems = worklist.TaskQuery(), {p.field: p.message for p in exc.problems}
    found = worklist.page(engine(), g.principal, query, default="view" not in request.args)
    g.nav_counts = found.counts
    return render_template("inbox.html", page=found.page, query=found.query, counts=found.counts,
                           problems=problems, processes=found.processes, departments=found.departments,
                           saved=found.saved, people=found.people), (400 if problems else 200)


@bp.post("/inbox/filters")
@login_required
def save_filter():
    try:
        query = saved_filters.save(engine(), g.principal, request.form.get("name", ""), request.form)
    except Invalid as exc:
        flash("；".join(p.message for p in exc.problems) or exc.message, "error")
        return redirect(url_for("inbox.tasks"))
    flash(_("筛选已保存"), "success")
    return redirect(url_for("inbox.tasks") + "?" + query.to_args())


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int):
    saved_filters.delete(engine(), g.principal, filter_id)
    flash(_("筛选已删除"), "success")
    return redirect(url_for("inbox.tasks"))


@bp.app_context_processor
def navigation():
    from .notices import bell_count
    return {"nav_counts": nav_counts, "bell_count": bell_count}
