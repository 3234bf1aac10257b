"""Campaign pages: the list, the launch form, the phase × department matrix with its chart and
drill-down, and a department head's view of their department's obligations."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.campaign import launch as campaign_launch, matrix as campaign_matrix
from engine.campaign.operators import PHASES
from engine.inbox.submission import FormRejected
from engine.permissions import CAMPAIGN_VIEWERS, OFFICE

from .errors import or_404
from .session import engine, login_required, roles_required

bp = Blueprint("campaign", __name__)

# Who sees every campaign: the discipline office runs them, the task force and leadership group
# steer them, auditors and administrators look on.
VIEWERS = tuple(sorted(CAMPAIGN_VIEWERS))



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
    return render_template("campaign/launch.html", definition=eng.forms.get(campaign_launch.LAUNCH_FORM), values=values or {},
                           errors=errors or {}, **campaign_matrix.launch_choices(eng)), status


@bp.get("/campaigns/new")
@roles_required(*OFFICE)
def new():
    return _launch_page()


@bp.post("/campaigns/new")
@roles_required(*OFFICE)
def launch():
    """One call: the form checked field by field and the campaign started; on a refusal the form comes
    back with what was typed and each field's message, and nothing is started."""
    try:
        view = campaign_launch.launch(engine(), g.principal, request.form)
    except FormRejected as exc:
        return _launch_page(exc.submission.values, exc.submission.errors, 422)
    flash(_("专项整治“%(name)s”已发起", name=view.data.get("name", "")), "success")
    return redirect(url_for("campaign.show", campaign_id=view.id))


@bp.get("/campaigns/<campaign_id>")
@roles_required(*VIEWERS)
def show(campaign_id: str):
    with or_404():
        page = campaign_matrix.view(engine(), g.principal, campaign_id)
    return render_template("campaign/show.html", **page)


@bp.get("/campaigns/<campaign_id>/timeline.json")
@roles_required(*VIEWERS)
def timeline(campaign_id: str):
    with or_404():
        return jsonify(campaign_matrix.timeline_view(engine(), campaign_id))


@bp.get("/campaigns/<campaign_id>/cells/<column>/<department>")
@login_required
def cell(campaign_id: str, column: str, department: str):
    """The tasks behind one cell: for the campaign's viewers, and for the head of that department."""
    if not (g.principal.has(*VIEWERS) or department in g.principal.heads):
        abort(403)
    with or_404():
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
