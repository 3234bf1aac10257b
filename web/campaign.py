"""Campaign pages: the list, the launch form, the phase × department matrix with its chart and
drill-down, and a department head's view of their department's obligations."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.campaign import matrix as campaign_matrix
from engine.org import people as org
from engine.campaign.operators import CAMPAIGN, PHASES
from engine.db.transactions import read_transaction
from engine.errors import Invalid
from engine.forms import validate_submission

from .session import engine, login_required, roles_required
from .taskforms import DbLookups

bp = Blueprint("campaign", __name__)

# Who sees every campaign: the discipline office runs them, the task force and leadership group
# steer them, auditors and administrators look on.
VIEWERS = ("discipline_office", "task_force", "leadership_group", "auditor", "admin")
LAUNCH_FORM = "campaign_launch"


def _choices(conn):
    return {"people": [(p["username"], p["name"]) for p in org.list_staff(conn)],
            "departments": [(d["code"], d["name_zh"]) for d in org.departments(conn)]}


@bp.get("/campaigns")
@login_required
def index():
    if not g.principal.has(*VIEWERS):
        if g.principal.heads:
            return redirect(url_for("campaign.mine"))
        abort(403)
    eng = engine()
    with read_transaction(eng.db) as conn:
        rows = campaign_matrix.campaigns(conn)
    return render_template("campaign/list.html", campaigns=rows, phases=PHASES,
                           can_launch=g.principal.has("discipline_office"))


def _launch_page(values=None, errors=None, status=200):
    eng = engine()
    with read_transaction(eng.db) as conn:
        choices = _choices(conn)
    return render_template("campaign/launch.html", definition=eng.forms.get(LAUNCH_FORM), values=values or {},
                           errors=errors or {}, **choices), status


@bp.get("/campaigns/new")
@roles_required("discipline_office")
def new():
    return _launch_page()


@bp.post("/campaigns/new")
@roles_required("discipline_office")
def launch():
    """Validate the form, then start the campaign; the BPMN's own check (dates in order and not
    past, at least one department) answers field by field, and nothing is started on a refusal."""
    eng = engine()
    definition = eng.forms.get(LAUNCH_FORM)
    sub = validate_submission(definition, request.form, lookups=DbLookups(eng.db, ""))
    if not sub.ok:
        return _launch_page(sub.values, sub.errors, 422)
    try:
        view = eng.start(CAMPAIGN, started_by=g.principal.username, business_key=sub.data["doc_no"], data=sub.data)
    except Invalid as exc:
        errors = {p.field or "_form": p.message for p in exc.problems} or {"_form": exc.message}
        return _launch_page(sub.values, errors, 422)
    flash(_("专项整治“%(name)s”已发起", name=sub.data["name"]), "success")
    return redirect(url_for("campaign.show", campaign_id=view.id))


def _campaign_or_404(conn, campaign_id: str) -> dict:
    found = campaign_matrix.campaign(conn, campaign_id)
    if found is None:
        abort(404)
    return found


@bp.get("/campaigns/<campaign_id>")
@roles_required(*VIEWERS)
def show(campaign_id: str):
    eng = engine()
    now = eng.clock.now()
    with read_transaction(eng.db) as conn:
        c = _campaign_or_404(conn, campaign_id)
        grid = campaign_matrix.matrix(conn, campaign_id, now)
        disclosures = campaign_matrix.disclosures(conn, campaign_id) if g.principal.has("discipline_office") else None
        stats = campaign_matrix.statistics(conn, campaign_id)
        names = {p["username"]: p["name"] for p in org.list_staff(conn, active_only=False)}
    return render_template("campaign/show.html", camp=c, grid=grid, phases=PHASES, disclosures=disclosures,
                           stats=stats, names=names)


@bp.get("/campaigns/<campaign_id>/timeline.json")
@roles_required(*VIEWERS)
def timeline(campaign_id: str):
    eng = engine()
    with read_transaction(eng.db) as conn:
        _campaign_or_404(conn, campaign_id)
        return jsonify(campaign_matrix.timeline(conn, campaign_id, eng.clock.now()))


@bp.get("/campaigns/<campaign_id>/cells/<column>/<department>")
@login_required
def cell(campaign_id: str, column: str, department: str):
    """The tasks behind one cell: for the campaign's viewers, and for the head of that department."""
    if not (g.principal.has(*VIEWERS) or department in g.principal.heads):
        abort(403)
    eng = engine()
    with read_transaction(eng.db) as conn:
        c = _campaign_or_404(conn, campaign_id)
        columns = {code: (name, en) for code, name, en, _ in campaign_matrix.COLUMNS}
        if column not in columns:
            abort(404)
        tasks = campaign_matrix.cell_tasks(conn, campaign_id, column, department)
        dept_name = org.department_names(conn).get(department)
        names = {p["username"]: p["name"] for p in org.list_staff(conn, active_only=False)}
    if dept_name is None:
        abort(404)
    return render_template("campaign/cell.html", camp=c, column=column, column_name=columns[column],
                           department=department, department_name=dept_name, tasks=tasks, names=names)


@bp.get("/campaigns/mine")
@login_required
def mine():
    """A department head's obligations: each running campaign's deadlines and the open work of the
    departments they head."""
    if not g.principal.heads:
        abort(403)
    eng = engine()
    with read_transaction(eng.db) as conn:
        found = campaign_matrix.obligations(conn, g.principal.heads, eng.clock.now())
        dept_names = org.department_names(conn)
    return render_template("campaign/mine.html", campaigns=found, phases=PHASES,
                           departments=[dept_names.get(d, d) for d in sorted(g.principal.heads)])
