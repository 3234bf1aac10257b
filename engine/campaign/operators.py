"""The integrity campaign (专项整治): what the campaign processes ask of Python.

A campaign is the instance of `processes/campaign.bpmn`, launched by the discipline office (纪检监察室)
from the `campaign_launch` form. It runs four phases in order — 宣传动员 mobilization, 自查自纠
self-inspection, 集中整治 concentrated rectification, 巩固提升 consolidation — each ending on its
deadline (or earlier, once every department is done). Department work of a phase runs in small
child instances, one per department (started by the campaign with `start_instances`), so no
instance grows with the number of departments. Alongside: a monthly report (月报) per department,
voluntary disclosures (主动说明问题) by any staff member, and the issue list (问题清单) whose items
are closed out (销号) by the discipline office.

This module holds the service operators and completion guards the BPMN names (`register` adds them
to an engine's registry; see engine/bootstrap.py). Dates, days and
deadlines are the hospital's: they come from the launch form and the BPMN, never from here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from engine.runtime import connectors
from engine.errors import Invalid, Problem
from engine.db.schema import department as dept_table, event, human_task, process_instance, staff
from engine.deadlines.workdays import BEIJING

CAMPAIGN = "campaign"
DISCLOSURE = "campaign_disclosure"
MONTHLY = "campaign_monthly_report"
CLUE = "clue"


@dataclass(frozen=True)
class Phase:
    code: str
    name: str
    name_en: str
    deadline_field: str
    process_key: str          # the department work of this phase (one child instance per department or item)


PHASES = (
    Phase("mobilization", "宣传动员", "Mobilization", "mobilization_deadline", "campaign_mobilization_dept"),
    Phase("selfcheck", "自查自纠", "Self-inspection", "selfcheck_deadline", "campaign_selfcheck_dept"),
    Phase("rectification", "集中整治", "Rectification", "rectification_deadline", "campaign_issue_item"),
    Phase("consolidation", "巩固提升", "Consolidation", "consolidation_deadline", "campaign_consolidation_dept"),
)
PHASE_BY_CODE = {p.code: p for p in PHASES}
PHASE_BY_KEY = {p.process_key: p for p in PHASES}
DATE_LABELS = {
    "mobilization_deadline": "宣传动员阶段截止", "selfcheck_deadline": "自查自纠阶段截止",
    "rectification_deadline": "集中整治阶段截止", "consolidation_deadline": "巩固提升阶段截止",
    "disclosure_deadline": "主动说明问题截止", "end_date": "专项整治结束日期",
}


# --- launch -----------------------------------------------------------------------------------------

def check_launch(conn, data: dict, today: date) -> list[dict]:
    """The departments in scope (code and name, in the organisation's order, with their 分管院领导
    when the launch names one), or `Invalid` naming every field at fault: blank name or 文号, dates
    missing, in the past or out of phase order, the disclosure deadline after the campaign's end, no
    department or an unknown one, a bad report day, and what the campaign's shape asks
    (engine/campaign/shapes.py: the phases its profile uses, 重点责任科室, the work plan).

    Only the phases the profile (decision table `campaign_profile`) uses need a deadline; a campaign
    without phases needs its end date. A campaign already under way (`under_way`) may give past
    dates for the phases already done; its end may not be past."""
    from engine.campaign import shapes
    problems: list[Problem] = []
    for field, label in (("name", "专项整治名称"), ("doc_no", "文号")):
        if not str(data.get(field) or "").strip():
            problems.append(Problem(f"请填写“{label}”", field=field, code="required"))
    phases = shapes.phases_of(data)
    if phases is None:
        problems.append(Problem("未知的专项整治类型", field="profile", code="unknown_profile"))
        phases = [p.code for p in PHASES]
    under_way = bool(data.get("under_way"))
    wanted = [PHASE_BY_CODE[c].deadline_field for c in phases if c in PHASE_BY_CODE]
    if phases:
        wanted.append("disclosure_deadline")
    else:
        wanted.append("end_date")
    order = [f for f in wanted if f.endswith("_deadline") and f != "disclosure_deadline"]
    end_field = order[-1] if order else "end_date"
    dates: dict[str, date] = {}
    for field in wanted:
        label = DATE_LABELS[field]
        try:
            dates[field] = date.fromisoformat(str(data.get(field) or ""))
        except ValueError:
            problems.append(Problem(f"请填写“{label}”，如 2026-08-20", field=field, code="required"))
            continue
        if dates[field] < today and (not under_way or field == end_field):
            hint = "" if under_way else "；已在进行中的专项整治请勾选“专项整治已在进行中”"
            problems.append(Problem(f"“{label}”不能早于今天（{today.isoformat()}）{hint}", field=field, code="past"))
    for before, after in zip(order, order[1:]):
        if before in dates and after in dates and dates[after] <= dates[before]:
            problems.append(Problem(f"“{DATE_LABELS[after]}”须晚于“{DATE_LABELS[before]}”", field=after,
                                    code="order"))
    end = dates.get(end_field)
    if "disclosure_deadline" in dates and end and dates["disclosure_deadline"] > end:
        problems.append(Problem("“主动说明问题截止”不能晚于专项整治结束", field="disclosure_deadline", code="order"))
    try:
        day = int(data.get("report_day"))
        if not 1 <= day <= 28:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(Problem("“月报报送日”须为 1–28 之间的整数", field="report_day", code="range"))
    codes = data.get("departments") or []
    if not isinstance(codes, list) or not codes:
        problems.append(Problem("请至少选择一个科室", field="departments", code="required"))
        codes = []
    known = {r.code: r for r in conn.execute(
        sa.select(dept_table.c.code, dept_table.c.name_zh, dept_table.c.category)
        .where(dept_table.c.active, dept_table.c.code.in_([str(c) for c in codes])))} if codes else {}
    unknown = [str(c) for c in codes if str(c) not in known]
    if unknown:
        problems.append(Problem(f"找不到科室：{'、'.join(unknown)}", field="departments", code="unknown_department"))
    names = {c: r.name_zh for c, r in known.items()}
    problems += shapes.check_shape(data, names, end, today, under_way)
    if problems:
        raise Invalid("专项整治发起信息有误", problems)
    rows = sorted(known.values(), key=lambda r: (r.category, r.code))
    leaders = shapes.leaders_of(data)
    return [{"department": r.code, "department_name": r.name_zh, "leader": leaders.get(r.code)} for r in rows]


def campaign_check_launch(ctx) -> list[dict]:
    """First step of a campaign: refuse a launch whose data is wrong (nothing is written)."""
    return check_launch(ctx.conn, ctx.data, ctx.now.astimezone(BEIJING).date())


# --- department work ----------------------------------------------------------------------------------

def campaign_department_staff(ctx, department: str) -> list[str]:
    """The active staff of a department other than its head: whom the head talks to one by one."""
    head = ctx.conn.execute(sa.select(dept_table.c.head)
                            .where(dept_table.c.code == department)).scalar_one_or_none()
    rows = ctx.conn.execute(sa.select(staff.c.username).where(staff.c.department == department, staff.c.active)
                            .order_by(staff.c.username)).scalars().all()
    return [u for u in rows if u != head]



def campaign_problems_found(ctx) -> list[dict]:
    """The problems a department's accepted self-inspection found, each to become an issue item of that
    department (seed 004: "对查摆出的问题，要建立问题清单，实行销号管理")."""
    return [{"department": ctx.data.get("department"), "problem": p.get("problem"), "measure": p.get("measure"),
             "deadline_days": p.get("deadline_days")} for p in ctx.data.get("problems") or []]


# --- phase gates --------------------------------------------------------------------------------------

def unfinished(conn, campaign_id: str, phase: Phase) -> list[str]:
    """Names of the departments whose work of `phase` in this campaign is not finished."""
    rows = conn.execute(sa.select(process_instance.c.id).where(
        process_instance.c.parent_id == campaign_id, process_instance.c.process_key == phase.process_key,
        process_instance.c.status != "completed")).scalars().all()
    if not rows:
        return []
    codes = child_departments(conn, rows)
    names = dict(conn.execute(sa.select(dept_table.c.code, dept_table.c.name_zh)).all())
    found = sorted({codes.get(r) for r in rows if codes.get(r)}, key=lambda c: names.get(c, c))
    return [names.get(c, c) for c in found]


def child_departments(conn, instance_ids) -> dict[str, str]:
    """instance id -> the department its start data names (read from its `instance_started` event)."""
    found: dict[str, str] = {}
    ids = list(instance_ids)
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(event.c.instance_id, event.c.data_json).where(
                event.c.chain.in_(ids[i:i + 500]), event.c.type == "instance_started")):
            found[r.instance_id] = (json.loads(r.data_json).get("data") or {}).get("department")
    return found


def campaign_phase_done(ctx) -> None:
    """Closing a phase early needs every department's work of that phase finished (they are named)."""
    phase = PHASE_BY_CODE.get(ctx.properties.get("phase", ""))
    if phase is None:
        raise Invalid("阶段设置有误", [Problem(f"未知的阶段 {ctx.properties.get('phase')!r}", field="phase")])
    left = unfinished(ctx.conn, ctx.instance_id, phase)
    if left:
        raise Invalid([Problem(f"以下科室的{phase.name}工作尚未完成：{'、'.join(left)}", field="note",
                               code="phase_unfinished")])


# --- clue backlog review (问题线索起底) ------------------------------------------------------------------

def campaign_link_clues(ctx, clues) -> list[dict]:
    """Each reviewed clue, by its instance id or business key, linked to its clue instance."""
    problems, linked = [], []
    for i, row in enumerate(clues or []):
        ref = str(row.get("clue_ref") or "").strip()
        found = ctx.conn.execute(sa.select(process_instance.c.id).where(
            process_instance.c.process_key == CLUE,
            sa.or_(process_instance.c.id == ref, process_instance.c.business_key == ref))
            .order_by(process_instance.c.started_at).limit(1)).scalar_one_or_none()
        if found is None:
            problems.append(Problem(f"第 {i + 1} 行：找不到问题线索“{ref}”", field=f"clues[{i}].clue_ref",
                                    code="unknown_clue"))
        else:
            linked.append({"clue_ref": ref, "instance_id": found, "conclusion": row.get("conclusion")})
    if problems:
        raise Invalid("起底的线索有误", problems)
    ctx.event("milestone", {"kind": "clue_backlog", "clues": linked})
    return linked


# --- voluntary disclosure (主动说明问题): engine/campaign/disclosure.py --------------------------------

# --- one monthly report per department and period ---------------------------------------------------

MONTHLY_KEYS = ("monthly_report", MONTHLY)


def monthly_report_unique(ctx, department=None) -> bool:
    """One monthly report per department and period. While the campaign's monthly report (the one
    that counts for the campaign) waits for the department, a stand-alone one is refused; so is a second
    stand-alone one for the same period (its business key, e.g. "2026-09 内科"; a report without one
    may be for any period, so it counts as the same). A late report of an earlier period does not block the next one."""
    if not department:
        return True
    h, p = human_task.c, process_instance.c
    rows = ctx.conn.execute(sa.select(h.process_key, p.business_key).join(
        process_instance, process_instance.c.id == h.instance_id).where(
        h.process_key.in_(MONTHLY_KEYS), h.element_id == "fill_report", h.status == "open",
        h.candidate_department == str(department))).all()
    for key, business_key in rows:
        if key == MONTHLY or business_key == ctx.business_key or None in (business_key, ctx.business_key):
            where = "专项整治的月度工作进展" if key == MONTHLY else "另一份月报"
            raise Invalid("本科室本期已有月报", [Problem(
                f"本科室本期已有待填报的{where}，无需另行发起（每个科室每期只填一份月报）",
                field="department", code="duplicate_report")])
    return True


def launch_data(conn, campaign_id: str) -> dict:
    """What the campaign was launched with (its start data)."""
    raw = conn.execute(sa.select(event.c.data_json).where(event.c.chain == campaign_id,
                                                          event.c.type == "instance_started")).scalar_one_or_none()
    return (json.loads(raw).get("data") or {}) if raw else {}


# --- figures for the summary (附件2, 附件4) -------------------------------------------------------------

def money(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def campaign_statistics(ctx) -> dict:
    """The campaign's figures so far, for the summary evaluation: see campaign_matrix.statistics."""
    from engine.campaign import matrix as campaign_matrix
    return campaign_matrix.statistics(ctx.conn, ctx.instance_id)


def register(registry: connectors.Connectors) -> None:
    """Add this domain's operators and guards, by the names its BPMN uses (see engine.bootstrap)."""
    registry.add_service("campaign_check_launch", campaign_check_launch)
    registry.add_service("campaign_department_staff", campaign_department_staff)
    registry.add_service("campaign_problems_found", campaign_problems_found)
    registry.add_guard("campaign_phase_done", campaign_phase_done)
    registry.add_service("campaign_link_clues", campaign_link_clues)
    from engine.campaign.disclosure import campaign_options, disclosure_window
    registry.add_service("campaign_disclosure_window", disclosure_window)
    registry.add_options("disclosure_campaigns", campaign_options)
    registry.add_service("campaign_statistics", campaign_statistics)
    registry.add_service("monthly_report_unique", monthly_report_unique)
    from engine.campaign import shapes
    shapes.register(registry)
