"""Report pages: 附件2 / 附件3 / 附件4 and the monthly progress report of a campaign, each as a page
that prints cleanly and as an Excel file, and the dashboard of charts that link to the lists behind.

填报人 / 联系电话 / 审核人 are typed on the report page (填报人 defaults to the signed-in person) and
remembered per campaign in the signed-in session, so the next report and its export carry them.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, g, jsonify, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.campaign import matrix as campaign_matrix
from engine.clues import export as clues_export
from engine.errors import Invalid, NotFound, Problem
from engine.campaign.reports import pages as report_pages, workbooks
from engine.campaign.reports.common import Signature
from engine.permissions import CLUE_READERS

from .campaign import VIEWERS
from .session import engine, login_required

bp = Blueprint("reports", __name__)

# kind: (its name in the list, the end of its official title, its attachment's number in seed 002).
# The official title (the campaign's heading, then these words) stays Chinese in the Excel file;
# the page says it in the reader's language (`_page_title`).
KINDS = {
    "disclosures": ("附件2 主动说明问题情况汇总表", "有关人员主动说明问题情况汇总表", 2),
    "ledger": ("附件3 问题线索台帐", "问题线索台帐", 3),
    "outcomes": ("附件4 专项整治情况汇总表", "情况汇总表", 4),
    "monthly": ("月度工作进展报告", "工作进展月报", None),
}
# 附件2–4 hold clue and disclosure figures: the roles that may read the clue ledger. The monthly
# report is campaign work: the campaign's viewers, and department heads for their own departments.
CLUE_KINDS = ("disclosures", "ledger", "outcomes")
FIELD_MAX = 40


def _may(kind: str) -> bool:
    p = g.principal
    if kind in CLUE_KINDS:
        return p.has(*CLUE_READERS)
    return p.has(*VIEWERS) or bool(p.heads)


def _own_departments():
    """None (every department) for the campaign's viewers, else the departments the person heads."""
    return None if g.principal.has(*VIEWERS) else set(g.principal.heads)


def _campaign(call, *args, **kwargs):
    """An engine call about a campaign; an unknown campaign is a plain 404 page."""
    try:
        return call(engine(), *args, **kwargs)
    except NotFound:
        abort(404)


def _signature(campaign_id: str) -> tuple[Signature, dict]:
    """From the request, else the last values used for this campaign, else the signed-in person."""
    remembered = (session.get("report_signature") or {}).get(campaign_id) or {}
    values, problems = {}, {}
    for name in ("filled_by", "phone", "reviewer"):
        raw = request.args.get(name)
        value = (raw if raw is not None else remembered.get(name, "")).strip()
        if len(value) > FIELD_MAX:
            problems[name] = _("最多 %(n)s 个字", n=FIELD_MAX)
            value = value[:FIELD_MAX]
        values[name] = value
    if not values["filled_by"] and "filled_by" not in request.args:
        values["filled_by"] = g.principal.name
    if any(request.args.get(n) is not None for n in ("filled_by", "phone", "reviewer")) and not problems:
        stored = dict(session.get("report_signature") or {})
        stored[campaign_id] = values
        session["report_signature"] = stored
    return Signature(**values), problems


@bp.get("/reports")
@login_required
def index():
    if not (g.principal.has(*VIEWERS, *CLUE_READERS) or g.principal.heads):
        abort(403)
    rows = campaign_matrix.listing(engine())
    kinds = [k for k in KINDS if _may(k)]
    return render_template("reports/index.html", campaigns=rows, kinds=kinds, titles=KINDS,
                           dashboard=g.principal.has(*VIEWERS, *CLUE_READERS))


def _report(campaign_id: str, kind: str):
    """The campaign, the page's inputs (cut-off, signature, their problems) and the report computed for them."""
    if kind not in KINDS:
        abort(404)
    if not _may(kind):
        abort(403)
    found = _campaign(report_pages.report, campaign_id, kind, request.args.get("cutoff"),
                      _own_departments() if kind == "monthly" else None, viewer=g.principal)
    camp = found["camp"]
    sign, problems = _signature(camp.id)
    for p in found["problems"]:
        problems[p.field] = (_("截至日期不能早于专项整治开始（%(d)s）", d=camp.started_on.isoformat())
                             if p.code == "before_start" else p.message)
    return camp, found["cutoff"], sign, problems, found["report"], found["heading"]


@bp.get("/reports/<campaign_id>/<kind>")
@login_required
def show(campaign_id: str, kind: str):
    camp, cutoff, sign, problems, report, heading = _report(campaign_id, kind)
    args = {"cutoff": cutoff.isoformat(), "filled_by": sign.filled_by, "phone": sign.phone, "reviewer": sign.reviewer}
    return render_template(f"reports/{kind}.html", camp=camp, kind=kind, titles=KINDS, report=report,
                           cutoff=cutoff, sign=sign, problems=problems, args=args,
                           title=_page_title(kind, heading),
                           export=url_for("reports.export", campaign_id=campaign_id, kind=kind, **args),
                           report_text=workbooks.report_text), (422 if problems else 200)


def _page_title(kind: str, heading: str) -> str:
    """A report's title on its page: the campaign's heading (data), then what the report is."""
    if kind == "disclosures":
        return _("%(heading)s有关人员主动说明问题情况汇总表", heading=heading)
    if kind == "ledger":
        return _("%(heading)s问题线索台帐", heading=heading)
    if kind == "outcomes":
        return _("%(heading)s情况汇总表", heading=heading)
    return _("%(heading)s工作进展月报", heading=heading)


@bp.get("/reports/<campaign_id>/<kind>.xlsx")
@login_required
def export(campaign_id: str, kind: str):
    camp, cutoff, sign, problems, report, heading = _report(campaign_id, kind)
    if problems:
        raise Invalid(_("导出条件有误"), [Problem(m, field=f) for f, m in problems.items()])
    title = f"{heading}{KINDS[kind][1]}"
    if kind == "ledger":
        data = clues_export.ledger_workbook(report["rows"], title=title, filled_by=sign.filled_by, phone=sign.phone,
                                            reviewer=sign.reviewer, cut_off=cutoff)
    else:
        build = {"disclosures": workbooks.disclosure_workbook, "outcomes": workbooks.outcome_workbook,
                 "monthly": workbooks.monthly_workbook}[kind]
        data = build(report, title=title, sign=sign, cutoff=cutoff)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers.set("Content-Disposition", "attachment", filename=f"{kind}-{cutoff:%Y%m%d}.xlsx")
    return resp


def _dashboard_roles():
    if not g.principal.has(*VIEWERS, *CLUE_READERS):
        abort(403)


@bp.get("/reports/<campaign_id>/dashboard")
@login_required
def dashboard_page(campaign_id: str):
    _dashboard_roles()
    camp = _campaign(report_pages.campaign, campaign_id)
    return render_template("reports/dashboard.html", camp=camp, clues=g.principal.has(*CLUE_READERS),
                           campaign_charts=g.principal.has(*VIEWERS))


@bp.get("/reports/<campaign_id>/dashboard.json")
@login_required
def dashboard_data(campaign_id: str):
    """The charts' figures, each with the address of the list behind a bar or slice."""
    _dashboard_roles()
    out = _campaign(report_pages.dashboard, campaign_id, campaign_figures=g.principal.has(*VIEWERS),
                    clue_figures=g.principal.has(*CLUE_READERS), viewer=g.principal)
    if "progress" in out:
        for d in out["progress"]["departments"]:
            d["links"] = {s["phase"]: url_for("campaign.cell", campaign_id=campaign_id, column=s["phase"],
                                              department=d["code"]) for s in out["progress"]["series"]}
        for d in out["overdue"]:
            d["link"] = url_for("reports.overdue", campaign_id=campaign_id, department=d["code"])
    if "clues" in out:
        clues = out["clues"]
        for key, arg in (("sources", "source"), ("disposals", "disposal"), ("forms", "form")):
            for d in clues[key]:
                d["link"] = url_for("clues.ledger", **{arg: d["code"]})
        clues["status"]["links"] = {k: url_for("clues.ledger", status=k) for k in ("open", "closed")}
        clues["feedback"]["link"] = url_for("clues.ledger", real_name="1")
    return jsonify(out)


@bp.get("/reports/<campaign_id>/overdue")
@login_required
def overdue(campaign_id: str):
    """The list behind the overdue chart: the campaign's open tasks past due, for one department or all."""
    department = (request.args.get("department") or "").strip()[:64] or None
    if not (g.principal.has(*VIEWERS) or (department and department in g.principal.heads)):
        abort(403)
    found = _campaign(report_pages.overdue, campaign_id, department)
    return render_template("reports/overdue.html", camp=found["camp"], tasks=found["tasks"], department=department)
