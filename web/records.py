"""The standing registers (档案与登记), each as a page and an Excel file: 红包上缴登记 (red envelopes
and gifts handed in) for the discipline office and auditors; 问题清单 (every problem under 销号管理)
for them and, for their own departments, the department heads."""
from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import gettext as _

from engine.org.roles import AUDITOR, DISCIPLINE_OFFICE
from engine.records import gifts, issues

from .formatting import day
from .session import engine, login_required, roles_required

bp = Blueprint("records", __name__)
READERS = (DISCIPLINE_OFFICE, AUDITOR)


def _year() -> tuple[int | None, str | None]:
    """The year asked for, or None (every year) with the reason when it is not a year."""
    raw = (request.args.get("year") or "").strip()
    if raw and not (raw.isdigit() and 2000 <= int(raw) <= 2100):
        return None, _("年度应为 2000 至 2100 之间的四位数字")
    return (int(raw) if raw else None), None


def _page(year: int | None):
    return gifts.register_page(engine(), year=year, locale=g.principal.locale)


@bp.get("/records/gifts")
@roles_required(*READERS)
def gift_register():
    """A year that is not one is said next to the field, the typed text kept; every year is shown."""
    year, problem = _year()
    return render_template("records/gifts.html", **_page(year), year_error=problem,
                           year_typed=request.args.get("year", "")), (422 if problem else 200)


@bp.get("/records/gifts.xlsx")
@roles_required(*READERS)
def gift_register_export():
    page = _page(_year()[0])
    title = _("红包上缴登记表") if page["year"] is None else _("%(y)s年红包上缴登记表", y=page["year"])
    data = gifts.register_workbook(page, page["hospital"] + title)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers.set("Content-Disposition", "attachment", filename=f"gifts-{page['year'] or 'all'}.xlsx")
    return resp



def _issue_page():
    """Every department's problems for the office and auditors, a head's own departments' for a head."""
    p = g.principal
    if p.has(*READERS):
        departments = None
    elif p.heads:
        departments = set(p.heads)
    else:
        abort(403)
    status = request.args.get("status") or None
    if status not in (None, "open", *issues.STATUSES):
        status = None                   # an unknown filter value (a crafted URL): every item
    return issues.register_page(engine(), status=status, departments=departments, locale=p.locale)


@bp.get("/records/issues")
@login_required
def issue_list():
    return render_template("records/issues.html", **_issue_page())


@bp.get("/records/issues.xlsx")
@login_required
def issue_list_export():
    page = _issue_page()
    data = issues.register_workbook(page, page["hospital"] + _("问题清单（销号管理）"), day)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers.set("Content-Disposition", "attachment", filename="issues.xlsx")
    return resp
