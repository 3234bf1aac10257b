"""The public reporting page (网上举报): no login, CSRF still, a rate limit per client address, a
honeypot field and a signed, timed form token. It says what a report must contain and warns against
false accusation (seed 004), and gives back a query code shown once; `/report/status` with that code
shows only the feedback texts, nothing else about the clue."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from engine.clues import intake as clues_intake, public as clues_public
from engine.inbox.submission import FormRejected

from .session import engine

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)

FORM = clues_intake.PUBLIC_FORM
REPORTS_PER_HOUR = 5          # accepted reports per client address
LOOKUPS_PER_HOUR = 20
HONEYPOT = "website"          # hidden from people by CSS; bots fill it in


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _allowed(action: str, limit: int) -> bool:
    return clues_public.allowed(engine(), request.remote_addr, _secret(), action, limit)


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _form_page(values=None, errors=None, status=200, message=None):
    eng = engine()
    html = render_template("public/report.html", definition=eng.forms.get(FORM), values=values or {},
                           errors=errors or {}, token=clues_public.form_token(_secret(), eng.clock.now()),
                           honeypot=HONEYPOT, message=message,
                           channels=current_app.config.get("QINGLIAN_REPORT_CHANNELS") or {})
    return _no_store(current_app.make_response((html, status)))


@bp.get("/report")
def report_form():
    return _form_page()


@bp.post("/report")
def report_submit():
    eng = engine()
    if not clues_public.has_room(eng, request.remote_addr, _secret(), "report", REPORTS_PER_HOUR):
        return _form_page(request.form, status=429, message=_("提交过于频繁，请一小时后再试，或通过电话、信件举报。"))
    problem = clues_public.spend_form_token(eng, _secret(), request.form.get("form_token"))
    if request.form.get(HONEYPOT) or problem:
        log.info("public report refused: %s", "honeypot" if request.form.get(HONEYPOT) else problem)
        return _form_page(request.form, status=400, message=_("提交未通过校验，请重新填写后再提交。"))
    try:
        registered = clues_intake.register_public_report(eng, current_app.extensions["qinglian_reporter_vault"],
                                                         request.form)
    except FormRejected as exc:
        return _form_page(exc.submission.values, exc.submission.errors, status=422)
    _allowed("report", REPORTS_PER_HOUR)       # only accepted reports count against the hour's limit
    html = render_template("public/report_done.html", code=registered.query_code)
    return _no_store(current_app.make_response(html))


@bp.route("/report/status", methods=["GET", "POST"])
def status():
    feedback, status_code, message = None, 200, None
    if request.method == "POST":
        if not _allowed("status", LOOKUPS_PER_HOUR):
            status_code, message = 429, _("查询过于频繁，请一小时后再试。")
        else:
            feedback = clues_public.feedback_for_code(engine(), request.form.get("code", ""))
            if feedback is None:
                status_code, message = 404, _("未找到该查询码，请核对后重新输入。")
    html = render_template("public/status.html", feedback=feedback, message=message)
    return _no_store(current_app.make_response((html, status_code)))
