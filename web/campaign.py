"""Campaign pages: the list, the launch form, the phase × department matrix with its chart and
drill-down, and a department head's view of their department's obligations."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.campaign import matrix as campaign_matrix
from engine.campaign.operators import CAMPAIGN, PHASES
from engine.errors import Invalid, NotFound
from engine.forms import validate_submission
from engine.permissions import CAMPAIGN_VIEWERS, OFFICE

from .session import engine, login_required, roles_required
from .taskforms import DbLookups

bp = Blueprint("campaign", __name__)

# Who sees every campaign: the discipline office runs them, the task force and leadership group
# steer them, auditors and administrators look on.
VIEWERS = tuple(sorted(CAMPAIGN_VIEWERS))

LAUNCH_FORM = "campaign_launch"


@contextmanager
def _or_404():
    """An unknown campaign, column or department is a plain 404 page."""
    try:
        yield
    except NotFound:
        abort(404)


@bp.get("/campaigns")
@login_required
def index():
    if not g.principal.has(*VIEWERS):
        if g.principal.heads:
            return redirect(url_for("campaign.mine"))
        abort(403)
    return render_template("campaign/list.html", campaigns=campaign_matrix.listing(engine()), phases=PHASES,
                           can_launch=g.principal.has(*OFFICE))


def _launch_page(values=None, errors=None, status=200):
    eng = engine()
    return render_template("campaign/launch.html", definition=eng.forms.get(LAUNCH_FORM), values=values or {},
                           errors=errors or {}, **campaign_matrix.launch_choices(eng)), status


@bp.get("/campaigns/new")
@roles_required(*OFFICE)
def new():
    return _launch_page()


@bp.post("/campaigns/new")
@roles_required(*OFFICE)
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


@bp.get("/campaigns/<campaign_id>")
@roles_required(*VIEWERS)
def show(campaign_id: str):
    with _or_404():
        page = campaign_matrix.view(engine(), g.principal, campaign_id)
    return render_template("campaign/show.html", phases=PHASES, **page)


@bp.get("/campaigns/<campaign_id>/timeline.json")
@roles_required(*VIEWERS)
def timeline(campaign_id: str):
    with _or_404():
        return jsonify(campaign_matrix.timeline_view(engine(), campaign_id))


@bp.get("/campaigns/<campaign_id>/cells/<column>/<department>")
@login_required
def cell(campaign_id: str, column: str, department: str):
    """The tasks behind one cell: for the campaign's viewers, and for the head of that department."""
    if not (g.principal.has(*VIEWERS) or department in g.principal.heads):
        abort(403)
    with _or_404():
        page = campaign_matrix.cell_view(engine(), campaign_id, column, department)
    return render_template("campaign/cell.html", column=column, department=department, **page)


@bp.get("/campaigns/mine")
@login_required
def mine():
    """A department head's obligations: each running campaign's deadlines and the open work of the
    departments they head."""
    if not g.principal.heads:
        abort(403)
    return render_template("campaign/mine.html", phases=PHASES, **campaign_matrix.mine(engine(), g.principal.heads))
