"""The discipline office's clue pages: the ledger (问题线索台帐) and its Excel export, registering a
clue with the duplicate hint, one clue with its history, revealing a reporter (audited), selecting a
closed clue for 回头看 and reopening it for a new disposal round on the review's finding."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import permissions
from engine.clues import (confidential, export as clues_export, intake as clues_intake, ledger as clues_ledger,
                          quarterly as clues_quarterly, rounds as clues_rounds)
from engine.deadlines.workdays import BEIJING
from engine.errors import Invalid, Problem
from engine.inbox.submission import FormRejected
from engine.org import people as org

from .session import engine, roles_required

bp = Blueprint("clues", __name__)

OFFICE = permissions.CLUE_OFFICE
READERS = permissions.CLUE_READERS      # auditors read; the identity stays masked (web/reports.py imports it)


def init_app(app, settings) -> None:
    """The reporter vault (its key from configuration) and the clue and public blueprints."""
    from . import public
    if settings.reporter_key is None and app.testing:      # tests: a fresh key of their own, in memory
        from cryptography.fernet import Fernet
        app.extensions["qinglian_reporter_vault"] = confidential.ReporterVault(Fernet.generate_key())
    else:
        app.extensions["qinglian_reporter_vault"] = confidential.vault_from_settings(settings)
    app.config["REPORT_CHANNELS"] = dict(settings.report_channels or {})
    app.register_blueprint(bp)
    app.register_blueprint(public.bp)


def vault() -> confidential.ReporterVault:
    return current_app.extensions["qinglian_reporter_vault"]


@bp.get("/clues")
@roles_required(*READERS)
def ledger():
    try:
        query, problems = clues_ledger.LedgerQuery.parse(request.args), {}
    except Invalid as exc:
        query, problems = clues_ledger.LedgerQuery(), {p.field: p.message for p in exc.problems}
    rows, rate, departments = clues_ledger.page(engine(), g.principal, query)
    return render_template("clues/ledger.html", rows=rows, query=query, problems=problems,
                           rate=rate, sources=clues_intake.SOURCES,
                           disposals=clues_ledger.DISPOSALS, statuses=clues_ledger.STATUSES,
                           departments=departments), (422 if problems else 200)


@bp.get("/clues/export.xlsx")
@roles_required(*READERS)
def export():
    query = clues_ledger.LedgerQuery.parse(request.args)
    eng = engine()
    today = eng.clock.now().astimezone(BEIJING).date()
    data = clues_export.ledger_workbook(
        clues_ledger.rows(eng, g.principal, query), title=_("问题线索台帐"), filled_by=g.principal.name,
        phone=(request.args.get("phone") or "").strip()[:30], reviewer=(request.args.get("reviewer") or "").strip()[:30],
        cut_off=today)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers.set("Content-Disposition", "attachment", filename=f"clue-ledger-{today:%Y%m%d}.xlsx")
    return resp


@bp.get("/clues/quarterly")
@roles_required(*READERS)
def quarterly():
    """季度统计: the quarter's figures for the higher commission (as the reader may see the clues)."""
    try:
        figures, problems = clues_quarterly.report(engine(), g.principal, request.args), {}
    except Invalid as exc:
        figures = clues_quarterly.report(engine(), g.principal, {})
        problems = {p.field: p.message for p in exc.problems}
    return render_template("clues/quarterly.html", figures=figures, problems=problems), (422 if problems else 200)


@bp.get("/clues/quarterly.xlsx")
@roles_required(*READERS)
def quarterly_export():
    figures = clues_quarterly.report(engine(), g.principal, request.args)
    q = figures["quarter"]
    data = clues_quarterly.workbook(figures, filled_by=g.principal.name)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers.set("Content-Disposition", "attachment", filename=f"clue-quarterly-{q.year}Q{q.number}.xlsx")
    return resp


def _register_page(values=None, errors=None, duplicates=None, status=200):
    eng = engine()
    if values is None:
        values = {"received_on": clues_intake.today(eng)}
    return render_template("clues/new.html", definition=eng.forms.get(clues_intake.REGISTER_FORM), values=values,
                           errors=errors or {}, duplicates=duplicates or [],
                           department_choices=org.department_choices(eng)), status


@bp.get("/clues/new")
@roles_required(*OFFICE)
def new():
    return _register_page()


@bp.post("/clues/new")
@roles_required(*OFFICE)
def create():
    try:
        intake = clues_intake.register_from_form(engine(), vault(), g.principal, request.form, request.files,
                                                 duplicates_confirmed=request.form.get("confirm_duplicates") == "1")
    except FormRejected as exc:
        return _register_page(exc.submission.values, exc.submission.errors, status=422)
    if intake.registered is None:
        # Shown before anything is saved; the office registers anyway if it is a different matter.
        return _register_page(intake.values, {}, intake.duplicates, status=200)
    flash(_("线索已登记：%(key)s", key=intake.registered.business_key), "success")
    return redirect(url_for("clues.show", instance_id=intake.registered.instance_id))


@bp.get("/clues/<instance_id>")
@roles_required(*READERS)
def show(instance_id: str, reporter=None, values=None):
    found = clues_intake.show(engine(), g.principal, instance_id)
    return render_template("clues/show.html", clue=found.clue, tasks=found.tasks, history=found.history,
                           has_reporter=found.has_reporter, reporter=reporter, names=found.names,
                           step_names=found.step_names, people=found.people, duplicates=found.duplicates,
                           can_reveal=found.can_reveal,
                           can_reveal_reporter=found.can_reveal_reporter, reviews=found.reviews,
                           values=values or {})


@bp.post("/clues/<instance_id>/reporter")
@roles_required(*READERS)
def reveal(instance_id: str):
    return show(instance_id, reporter=clues_intake.reveal(engine(), vault(), g.principal, instance_id))


def _refused(instance_id: str, exc: Invalid, values=None):
    """The clue page again, status 422, with each field's problem (and what was typed)."""
    labels = {"to": _("承办人"), "reason": _("原因"), "mode": _("办理方式"),
              "review_instance_id": _("回头看发现的问题")}
    for p in exc.problems or [Problem(exc.message)]:
        flash(f"{labels[p.field]}：{_(p.message)}" if p.field in labels else _(p.message), "error")
    return show(instance_id, values=values), 422


@bp.post("/clues/<instance_id>/reopen")
@roles_required(*OFFICE)
def reopen(instance_id: str):
    """回头看 found a problem: the clue's next disposal round, on the same ledger line."""
    values = {k: request.form.get(k, "") for k in ("review_instance_id", "reason")}
    try:
        started = clues_rounds.reopen(engine(), g.principal, instance_id, values["review_instance_id"],
                                      values["reason"])
    except Invalid as exc:
        return _refused(instance_id, exc, values)
    flash(_("已开启第%(n)s轮处置", n=started.data.get("round_number")), "success")
    return redirect(url_for("clues.show", instance_id=instance_id))


@bp.post("/clues/<instance_id>/review")
@roles_required(*OFFICE)
def review(instance_id: str):
    """回头看: a closed clue is selected for review; a `clue_review` instance does the review."""
    try:
        clues_intake.start_review(engine(), g.principal, instance_id)
    except Invalid as exc:
        return _refused(instance_id, exc)
    flash(_("已选定该线索开展回头看"), "success")
    return redirect(url_for("clues.show", instance_id=instance_id))
