"""The public reporting page (网上举报): no login, CSRF still, a rate limit per client address, a
honeypot field and a signed, timed form token. It says what a report must contain and warns against
false accusation (seed 004), and gives back a query code shown once; `/report/status` with that code
shows only the feedback texts, nothing else about the clue."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from engine.clues import confidential
from engine.clues import intake as clues_intake, ledger as clues_ledger, public as clues_public
from engine.db.transactions import read_transaction, write_transaction
from engine.forms import MemoryLookups, validate_submission
from engine.db.schema import department, staff

from .session import engine

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)

FORM = "clue_public_report"
REPORTS_PER_HOUR = 5          # per client address
LOOKUPS_PER_HOUR = 20
HONEYPOT = "website"          # hidden from people by CSS; bots fill it in
PUBLIC_STARTER = "public_report"


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _allowed(action: str, limit: int) -> bool:
    eng = engine()
    with write_transaction(eng.db) as conn:
        return clues_public.hit(conn, clues_public.client_key(request.remote_addr, _secret()), action,
                                eng.clock.now(), limit)


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _form_page(values=None, errors=None, status=200, message=None):
    eng = engine()
    html = render_template("public/report.html", definition=eng.forms.get(FORM), values=values or {},
                           errors=errors or {}, token=clues_public.form_token(_secret(), eng.clock.now()),
                           honeypot=HONEYPOT, message=message)
    return _no_store(current_app.make_response((html, status)))


@bp.get("/report")
def report_form():
    return _form_page()


@bp.post("/report")
def report_submit():
    eng = engine()
    if not _allowed("report", REPORTS_PER_HOUR):
        return _form_page(request.form, status=429, message=_("提交过于频繁，请一小时后再试，或通过电话、信件举报。"))
    problem = clues_public.check_form_token(_secret(), request.form.get("form_token"), eng.clock.now())
    if request.form.get(HONEYPOT) or problem:
        log.info("public report refused: %s", "honeypot" if request.form.get(HONEYPOT) else problem)
        return _form_page(request.form, status=400, message=_("提交未通过校验，请重新填写后再提交。"))
    submission = validate_submission(eng.forms.get(FORM), request.form, lookups=MemoryLookups())
    if submission.errors:
        return _form_page(submission.values, submission.errors, status=422)
    data = submission.data
    with read_transaction(eng.db) as conn:
        fields = _clue_fields(conn, data, clues_intake.today(eng))
    registered = clues_intake.register(eng, current_app.extensions["qinglian_reporter_vault"], fields,
                                       started_by=PUBLIC_STARTER, reporter_name=data.get("reporter_name"),
                                       reporter_contact=data.get("reporter_contact"), with_query_code=True)
    html = render_template("public/report_done.html", code=registered.query_code)
    return _no_store(current_app.make_response(html))


def _clue_fields(conn, data: dict, today: str) -> dict:
    """The web report as clue data. The department typed is matched to a department by name; a person
    concerned found there by name gives the position level and party membership."""
    dept = conn.execute(sa.select(department.c.code).where(department.c.name_zh == data["person_department"])
                        ).scalar_one_or_none()
    person = None
    if dept:
        matches = conn.execute(sa.select(staff.c.position_level, staff.c.party_member)
                               .where(staff.c.name == data["person_name"], staff.c.department == dept)).all()
        person = matches[0] if len(matches) == 1 else None
    summary = f"时间：{data['happened']}；地点：{data['place']}；事实：{data['facts']}"
    return {"person_name": data["person_name"], "person_position": None,
            "person_department": dept or data["person_department"],
            "position_level": person.position_level if person else "other",
            "party_member": person.party_member if person else None,
            "summary": summary, "source": "petition", "channel": "web", "received_on": today,
            "real_name": bool(data["real_name"])}


@bp.route("/report/status", methods=["GET", "POST"])
def status():
    feedback, status_code, message = None, 200, None
    if request.method == "POST":
        if not _allowed("status", LOOKUPS_PER_HOUR):
            status_code, message = 429, _("查询过于频繁，请一小时后再试。")
        else:
            eng = engine()
            with read_transaction(eng.db) as conn:
                instance_id = confidential.instance_for_code(conn, request.form.get("code", ""))
                feedback = clues_ledger.feedback_texts(conn, instance_id) if instance_id else None
            if instance_id is None:
                status_code, message = 404, _("未找到该查询码，请核对后重新输入。")
    html = render_template("public/status.html", feedback=feedback, message=message)
    return _no_store(current_app.make_response((html, status_code)))
