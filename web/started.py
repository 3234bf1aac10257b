"""我发起的: the instances a person started, and the receipt of each (shown right after starting)."""
from __future__ import annotations

from flask import Blueprint, g, render_template

from engine.inbox import started

from .session import engine, login_required

bp = Blueprint("started", __name__)


@bp.get("/started")
@login_required
def index():
    return render_template("started_list.html", cases=started.started_by(engine(), g.principal))


@bp.get("/started/<instance_id>")
@login_required
def receipt(instance_id: str):
    eng = engine()
    case = started.receipt(eng, g.principal, instance_id)
    definition = eng.forms.get(case.start_form) if case.start_form else None
    return render_template("started_receipt.html", case=case, definition=definition)
