"""The discipline office's clue pages: the ledger (问题线索台帐) and its Excel export, registering a
clue with the duplicate hint, one clue with its history, revealing a reporter (audited), recording a
handling mode (提级/交叉/联合办理) and selecting a closed clue for 回头看."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.clues import confidential
from engine.clues import (
    reporter_access as audit_access,
    export as clues_export,
    intake as clues_intake,
    ledger as clues_ledger,
)
from engine.org import people as org
from engine.db.transactions import read_transaction
from engine.errors import Invalid, Problem
from engine.forms import validate_submission
from engine.db.schema import human_task
from engine.deadlines.workdays import BEIJING

from .session import engine, roles_required
from .taskforms import DbLookups

bp = Blueprint("clues", __name__)

OFFICE = "discipline_office"
READERS = (OFFICE, "leadership_group", "auditor")      # auditors read; the identity stays masked
REGISTER_FORM = "clue_register"


def init_app(app, settings) -> None:
    """The reporter vault (its key from configuration) and the clue and public blueprints."""
    from . import public
    if settings.reporter_key is None and app.testing:      # tests: a fresh key of their own, in memory
        from cryptography.fernet import Fernet
        app.extensions["qinglian_reporter_vault"] = confidential.ReporterVault(Fernet.generate_key())
    else:
        app.extensions["qinglian_reporter_vault"] = confidential.vault_from_settings(settings)
    app.register_blueprint(bp)
    app.register_blueprint(public.bp)


def vault() -> confidential.ReporterVault:
    return current_app.extensions["qinglian_reporter_vault"]


def _rows(query=None, instance_ids=None):
    eng = engine()
    with read_transaction(eng.db) as conn:
        return clues_ledger.clue_rows(conn, eng.clock.now(), query, instance_ids=instance_ids)


@bp.get("/clues")
@roles_required(*READERS)
def ledger():
    try:
        query, problems = clues_ledger.LedgerQuery.parse(request.args), {}
    except Invalid as exc:
        query, problems = clues_ledger.LedgerQuery(), {p.field: p.message for p in exc.problems}
    rows = _rows(query)
    with read_transaction(engine().db) as conn:
        departments = org.department_names(conn)
    return render_template("clues/ledger.html", rows=rows, query=query, problems=problems,
                           rate=clues_ledger.feedback_rate(_rows()), sources=clues_intake.SOURCES,
                           disposals=clues_ledger.DISPOSALS, statuses=clues_ledger.STATUSES,
                           departments=departments), (422 if problems else 200)


@bp.get("/clues/export.xlsx")
@roles_required(*READERS)
def export():
    query = clues_ledger.LedgerQuery.parse(request.args)
    eng = engine()
    today = eng.clock.now().astimezone(BEIJING).date()
    data = clues_export.ledger_workbook(
        _rows(query), title=_("问题线索台帐"), filled_by=g.principal.name,
        phone=(request.args.get("phone") or "").strip()[:30], reviewer=(request.args.get("reviewer") or "").strip()[:30],
        cut_off=today)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers.set("Content-Disposition", "attachment", filename=f"clue-ledger-{today:%Y%m%d}.xlsx")
    return resp


def _register_page(values=None, errors=None, duplicates=None, status=200):
    eng = engine()
    with read_transaction(eng.db) as conn:
        departments = [(d["code"], d["name_zh"]) for d in org.departments(conn)]
    if values is None:
        values = {"received_on": clues_intake.today(eng)}
    return render_template("clues/new.html", definition=eng.forms.get(REGISTER_FORM), values=values,
                           errors=errors or {}, duplicates=duplicates or [], department_choices=departments), status


@bp.get("/clues/new")
@roles_required(OFFICE)
def new():
    return _register_page()


@bp.post("/clues/new")
@roles_required(OFFICE)
def create():
    eng = engine()
    definition = eng.forms.get(REGISTER_FORM)
    submission = validate_submission(definition, request.form, lookups=DbLookups(eng.db, ""), files=request.files)
    if submission.errors:
        return _register_page(submission.values, submission.errors, status=422)
    data = submission.data
    duplicates = clues_intake.possible_duplicates(_rows(), data["person_name"], data["summary"])
    if duplicates and request.form.get("confirm_duplicates") != "1":
        # Shown before anything is saved; the office registers anyway if it is a different matter.
        values = dict(submission.values)
        return _register_page(values, {}, duplicates, status=200)
    fields = {k: data.get(k) for k in clues_intake.CLUE_FIELDS}
    uploads = submission.files.get("attachments", [])
    registered = clues_intake.register(eng, vault(), fields, started_by=g.principal.username,
                                       reporter_name=data.get("reporter_name"),
                                       reporter_contact=data.get("reporter_contact"), uploads=uploads)
    flash(_("线索已登记：%(key)s", key=registered.business_key), "success")
    return redirect(url_for("clues.show", instance_id=registered.instance_id))


def _clue_or_404(instance_id: str) -> dict:
    rows = _rows(instance_ids=[instance_id]) if len(instance_id) <= 36 else []
    if not rows:
        abort(404)
    return rows[0]


@bp.get("/clues/<instance_id>")
@roles_required(*READERS)
def show(instance_id: str, reporter=None):
    clue = _clue_or_404(instance_id)
    eng = engine()
    with read_transaction(eng.db) as conn:
        has_reporter = confidential.has_reporter(conn, instance_id)
        names = {r["username"]: r["name"] for r in org.list_staff(conn, active_only=False)}
        people = [(p["username"], p["name"]) for p in org.list_staff(conn)]
    tasks = eng.show(instance_id).tasks
    with read_transaction(eng.db) as conn:
        step_names = dict(conn.execute(sa.select(human_task.c.element_id, human_task.c.name)
                                       .where(human_task.c.instance_id == instance_id)).all())
    others = [r for r in clues_intake.possible_duplicates(_rows(), clue["person_name"], clue["summary"], limit=6)
              if r["instance_id"] != instance_id][:5]
    return render_template("clues/show.html", clue=clue, tasks=tasks, history=list(reversed(eng.events(instance_id))),
                           has_reporter=has_reporter, reporter=reporter, names=names, step_names=step_names, people=people,
                           duplicates=others, modes=clues_ledger.HANDLING_MODES,
                           can_reveal=g.principal.has(OFFICE), can_reveal_reporter=_may_reveal(instance_id))


def _may_reveal(instance_id: str) -> bool:
    """The discipline office, or someone it granted access to this clue's reporter (an auditor)."""
    if g.principal.has(OFFICE):
        return True
    with read_transaction(engine().db) as conn:
        return audit_access.has_reporter_grant(conn, instance_id, g.principal.username)


@bp.post("/clues/<instance_id>/reporter")
@roles_required(*READERS)
def reveal(instance_id: str):
    _clue_or_404(instance_id)
    if not _may_reveal(instance_id):
        abort(403)
    eng = engine()
    from engine.db.transactions import write_transaction
    with write_transaction(eng.db) as conn:
        reporter = confidential.reveal_reporter(conn, vault(), g.principal, instance_id, eng.clock.now(),
                                                granted=not g.principal.has(OFFICE))
    return show(instance_id, reporter=reporter)


def _refused(instance_id: str, exc: Invalid):
    """The clue page again, status 422, with each field's problem."""
    labels = {"to": _("承办人"), "reason": _("原因"), "mode": _("办理方式")}
    for p in exc.problems or [Problem(exc.message)]:
        flash(f"{labels[p.field]}：{p.message}" if p.field in labels else p.message, "error")
    return show(instance_id), 422


@bp.post("/clues/<instance_id>/handling")
@roles_required(OFFICE)
def handling(instance_id: str):
    try:
        return _handling(instance_id)
    except Invalid as exc:
        return _refused(instance_id, exc)


def _handling(instance_id: str):
    """提级办理 / 交叉办理 / 联合办理: the clue's open task goes to the person who now handles it,
    with the mode and the reason in the history (a reassignment)."""
    _clue_or_404(instance_id)
    eng = engine()
    mode = request.form.get("mode", "")
    problems = []
    if mode not in clues_ledger.HANDLING_MODES:
        problems.append(Problem(_("请选择办理方式"), field="mode"))
    open_tasks = [t for t in eng.show(instance_id).tasks if t["element_id"] != "acceptance_notice"]
    if not open_tasks:
        problems.append(Problem(_("该线索当前没有可改派的任务"), field="mode"))
    if problems:
        raise Invalid(_("办理方式有误"), problems)
    with read_transaction(eng.db) as conn:
        from engine.inbox import handover
        target = handover.handover_target(conn, g.principal, request.form.get("to", ""), request.form.get("reason", ""))
    reason = f"{clues_ledger.HANDLING_MODES[mode]}：{request.form.get('reason', '').strip()}"
    eng.reassign(open_tasks[0]["id"], user=g.principal.username, to=target.username, reason=reason)
    flash(_("已记录%(mode)s，任务改由 %(name)s 办理", mode=clues_ledger.HANDLING_MODES[mode], name=target.name),
          "success")
    return redirect(url_for("clues.show", instance_id=instance_id))


@bp.post("/clues/<instance_id>/review")
@roles_required(OFFICE)
def review(instance_id: str):
    """回头看: a closed clue is selected for review; a `clue_review` instance does the review."""
    clue = _clue_or_404(instance_id)
    if clue["status"] != "closed":
        return _refused(instance_id, Invalid(_("该线索尚未办结"), [Problem(_("只有已办结的线索可以开展回头看"))]))
    eng = engine()
    with read_transaction(eng.db) as conn:
        office = clues_intake.office_department(conn)
    eng.start(clues_intake.REVIEW_PROCESS_KEY, started_by=g.principal.username,
              business_key=f"{clue['business_key']} 回头看",
              data={"clue_instance_id": instance_id, "clue_business_key": clue["business_key"],
                    "person_name": clue["person_name"], "summary": clue["summary"],
                    "disposal_result": clue["result"], "office_department": office})
    flash(_("已选定该线索开展回头看"), "success")
    return redirect(url_for("clues.show", instance_id=instance_id))
