"""流程分析 (process analytics) for process owners and auditors: a process version's cycle, waiting
and working times per step, overdue rates per step and department, and its variants — on its diagram
(the audit heatmap's viewer, `static/js/audit-heatmap.js`), as tables with bars, and as Excel.

Each page is one call of `engine.audit.analytics.service`, which decides who may read what
(confidential processes, recusal); the figures come from summaries the scheduler keeps current.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from engine.audit.analytics import service, workbook
from engine.errors import Invalid, NotFound, Problem
from engine.permissions import ANALYTICS_READERS

from .formatting import content_disposition, day, step_label
from .i18n import select_locale
from .session import engine, roles_required

bp = Blueprint("analytics", __name__)
LEVELS = 4


def _dates() -> tuple[date | None, date | None, dict[str, str]]:
    """The range asked for (either end may be open) and, for a field that is not a date or a range
    that ends before it starts, what is wrong next to that field."""
    found, problems = {}, {}
    for name in ("from", "to"):
        raw = (request.args.get(name) or "").strip()
        found[name] = None
        if raw:
            try:
                found[name] = date.fromisoformat(raw)
            except ValueError:
                problems[name] = _("日期格式应为 2026-09-28")
    if found["from"] and found["to"] and found["from"] > found["to"]:
        problems["to"] = _("结束日期不能早于开始日期")
    if problems:
        return None, None, problems
    return found["from"], found["to"], problems


def _page(version_id: int, start, end) -> dict:
    try:
        return service.page(engine(), g.principal, version_id, start, end)
    except NotFound:
        abort(404)


def _department_name(page: dict):
    english = select_locale() == "en"

    def name(code: str) -> str:
        d = page["departments"].get(code)
        if d is None:
            return code or _("未知科室")
        return (d.get("name_en") or d["name_zh"]) if english else d["name_zh"]
    return name


def _step_name(page: dict):
    key = page["version"].process_key
    return lambda element: step_label(page["names"].get(element), key) or element


def _overlays(page: dict) -> dict:
    """What the diagram shows on each step: its colour level by median cycle time, and a badge."""
    steps = page["figures"]["steps"]
    slowest = max((s["cycle"]["median"] or 0 for s in steps.values()), default=0)
    out = {}
    for element, s in steps.items():
        median = s["cycle"]["median"] or 0
        level = max(1, -(-LEVELS * median // slowest)) if slowest else 1
        label = _("中位 %(m)s 小时 · P90 %(p)s 小时", m=_h(median), p=_h(s["cycle"]["p90"]))
        if s["overdue_rate"] is not None:
            label += " · " + _("超期 %(r)s%%", r=_pct(s["overdue_rate"]))
        out[element] = {"level": int(level), "label": label}
    return out


def _h(seconds) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f}"


def _pct(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}"


@bp.get("/analytics")
@roles_required(*ANALYTICS_READERS)
def index():
    return render_template("analytics/index.html", versions=service.versions(engine(), g.principal))


@bp.get("/analytics/versions/<int:version_id>")
@roles_required(*ANALYTICS_READERS)
def version(version_id: int):
    start, end, problems = _dates()
    page = _page(version_id, start, end)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(xml=page["version"].bpmn_xml, overlays=_overlays(page))
    steps = page["figures"]["steps"]
    ordered = sorted(steps.items(), key=lambda kv: (-kv[1]["completed"], kv[0]))
    longest = max((s["cycle"]["p90"] or 0 for s in steps.values()), default=0)
    most = max((v["n"] for v in page["figures"]["variants"]), default=0)
    status = 422 if problems else 200
    asked = {k: request.args[k] for k in ("from", "to") if request.args.get(k) and not problems}
    return render_template("analytics/version.html", page=page, v=page["version"], f=page["figures"], steps=ordered,
                           longest=longest, most=most, problems=problems, start=start, end=end,
                           typed={k: request.args.get(k, "") for k in ("from", "to")},
                           step_name=_step_name(page), department_name=_department_name(page),
                           hours=_h, percent=_pct,
                           data_src=url_for("analytics.version", version_id=version_id, **asked),
                           export_url=url_for("analytics.version_xlsx", version_id=version_id, **asked)), status


@bp.get("/analytics/versions/<int:version_id>.xlsx")
@roles_required(*ANALYTICS_READERS)
def version_xlsx(version_id: int):
    start, end, problems = _dates()
    if problems:
        raise Invalid(_("日期有误"), [Problem(m, field=k) for k, m in problems.items()])
    page = _page(version_id, start, end)
    v = page["version"]
    span = (f"{day(start) if start else _('最早')} – {day(end) if end else _('至今')}")
    labels = {
        "steps_sheet": _("环节"), "departments_sheet": _("科室"), "variants_sheet": _("路径"),
        "steps_header": [_("环节"), _("编号"), _("完成次数"), _("周期中位（小时）"), _("周期P90（小时）"),
                         _("周期平均（小时）"), _("等待中位（小时）"), _("等待平均（小时）"), _("办理中位（小时）"),
                         _("办理平均（小时）"), _("有期限"), _("超期"), _("超期率（%）")],
        "departments_header": [_("科室"), _("完成次数"), _("有期限"), _("超期"), _("超期率（%）")],
        "step_departments_header": [_("环节"), _("科室"), _("完成次数"), _("有期限"), _("超期"), _("超期率（%）")],
        "variants_header": [_("序号"), _("路径"), _("环节数"), _("实例数"), _("占比（%）")],
        "no_steps": _("（无人工环节）"),
        "step_name": _step_name(page), "department_name": _department_name(page),
    }
    title = _("流程分析 · %(name)s 第 %(n)s 版 · %(span)s", name=v.name or v.process_key, n=v.version, span=span)
    data = workbook.build(page, labels, title)
    resp = Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = content_disposition(
        "attachment", f"analytics-{v.process_key}-v{v.version}.xlsx")
    return resp
