"""The inbox: my tasks, claimable tasks, due soon, overdue, done; filters, search, saved filters."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.org import people as org
from engine.inbox import lists as worklist, saved_filters
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid

from .session import engine, login_required

bp = Blueprint("inbox", __name__)


def soon_until(eng):
    """'Due soon' means within the next two working days."""
    return eng.deadlines.calendar().add_working_days(eng.clock.now(), 2).due


def nav_counts() -> dict[str, int]:
    if "nav_counts" not in g:          # once a request: the inbox page has counted already
        eng = engine()
        with read_transaction(eng.db) as conn:
            g.nav_counts = worklist.counts(conn, g.principal, now=eng.clock.now(), soon_until=soon_until(eng))
    return g.nav_counts


@bp.get("/")
@login_required
def index():
    return redirect(url_for("inbox.tasks"))


@bp.get("/inbox")
@login_required
def tasks():
    eng = engine()
    try:
        query = worklist.TaskQuery.parse(request.args)
        problems = {}
    except Invalid as exc:
        query, problems = worklist.TaskQuery(), {p.field: p.message for p in exc.problems}
    if query.view == "department" and not g.principal.heads:
        query = worklist.TaskQuery()
    now, soon = eng.clock.now(), soon_until(eng)
    with read_transaction(eng.db) as conn:
        counts = g.nav_counts = worklist.counts(conn, g.principal, now=now, soon_until=soon)
        page = worklist.list_tasks(conn, g.principal, query, now=now, soon_until=soon, total=counts.get(query.view))
        context = {
            "processes": worklist.processes_in_tasks(conn),
            "departments": org.department_names(conn),
            "saved": saved_filters.saved_filters(conn, g.principal.username),
            "people": org.staff_names(conn, (t["assignee"] for t in page.rows)),
        }
    return render_template("inbox.html", page=page, query=query, counts=counts, problems=problems, **context), \
        (400 if problems else 200)


@bp.post("/inbox/filters")
@login_required
def save_filter():
    eng = engine()
    try:
        query = worklist.TaskQuery.parse(request.form)
        with write_transaction(eng.db) as conn:
            saved_filters.save_filter(conn, g.principal.username, request.form.get("name", ""), query, eng.clock.now())
    except Invalid as exc:
        flash("；".join(p.message for p in exc.problems) or exc.message, "error")
        return redirect(url_for("inbox.tasks"))
    flash(_("筛选已保存"), "success")
    return redirect(url_for("inbox.tasks") + "?" + query.to_args())


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int):
    with write_transaction(engine().db) as conn:
        saved_filters.delete_filter(conn, g.principal.username, filter_id)
    flash(_("筛选已删除"), "success")
    return redirect(url_for("inbox.tasks"))


@bp.app_context_processor
def navigation():
    return {"nav_counts": nav_counts}
