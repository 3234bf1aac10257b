"""Campaign shapes (专项整治的不同形态): one campaign process, launched with other settings.

The seeds describe campaigns of different shapes, all launched from `processes/campaign.bpmn`:

- seed 002: four phases (宣传动员, 自查自纠, 集中整治, 巩固提升), every department in scope reports
  monthly — the default (`profile` "four_phases");
- seed 004: a year's campaign (March–December), self-inspection done by the end of June, and a
  monthly report by the 20th from the 重点责任科室 only, with a statistics table ("key_departments");
- seeds 000 and 001: multi-year action plans without phases, with yearly goals and a work plan
  (工作计划表 / 责任清单) whose key tasks the responsible departments carry out and report on monthly
  ("action_plan").

What a profile means is data: the decision table `processes/campaign_profile.dmn` (editable in the
modeler) gives its phases, who reports monthly and whether the report carries the statistics table.
This module reads what the launch form and that table produced, checks it field by field, and works
out the campaign's shape for the BPMN: its end, the departments that report, the phases already
past for a campaign entered while under way (补录), the work plan's tracked work per department.
"""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from engine.db.schema import department as dept_table, event, staff
from engine.deadlines.workdays import BEIJING
from engine.errors import Invalid, Problem

KEY_TASK = "campaign_key_task"
PHASE_CODES = ("mobilization", "selfcheck", "rectification", "consolidation")
DEADLINES = {c: f"{c}_deadline" for c in PHASE_CODES}
DEFAULT_PROFILE = "four_phases"
REPORTERS = ("scope", "key_departments", "plan")


def phases_of(data: dict) -> list[str] | None:
    """The phase codes the campaign's profile uses, in order; None for a profile the decision table
    does not know. A launch without a profile (older callers) has the four phases."""
    if "phases" not in data:
        return None if data.get("profile") not in (None, "", DEFAULT_PROFILE) else list(PHASE_CODES)
    phases = data.get("phases")
    if not isinstance(phases, (list, tuple)) or any(p not in PHASE_CODES for p in phases):
        return None
    return [p for p in PHASE_CODES if p in phases]


def reporters_of(data: dict) -> str:
    value = data.get("monthly_from") or "scope"
    return value if value in REPORTERS else "scope"


def leaders_of(data: dict) -> dict[str, str]:
    """department code -> the 分管院领导 (username) the launch names for it."""
    found: dict[str, str] = {}
    for row in data.get("leaders") or []:
        for code in (row or {}).get("departments") or []:
            if row.get("person"):
                found.setdefault(str(code), str(row["person"]))
    return found


def check_shape(data: dict, names: dict[str, str], end: date | None, today: date, under_way: bool) -> list[Problem]:
    """Problems with what the profile asks of the launch: the 重点责任科室 (among the departments in
    scope) when only they report, the work plan's rows (departments in scope, a schedule inside the
    campaign), a work plan when the plan's departments report, the 分管院领导 rows."""
    problems: list[Problem] = []
    reporters = reporters_of(data)
    keys = [str(c) for c in data.get("key_departments") or []]
    outside = [c for c in keys if c not in names]
    if outside:
        problems.append(Problem(f"重点责任科室须为参与科室：{'、'.join(outside)}", field="key_departments",
                                code="not_in_scope"))
    elif reporters == "key_departments" and not keys and names:
        problems.append(Problem("本类型由重点责任科室每月报送，请选择重点责任科室", field="key_departments",
                                code="required"))
    tasks = data.get("key_tasks") or []
    if reporters == "plan" and not tasks:
        problems.append(Problem("本类型按工作计划表推进，请至少填写一项重点任务", field="key_tasks", code="required"))
    for i, row in enumerate(tasks):
        codes = [str(c) for c in row.get("departments") or []]
        if not codes:
            problems.append(Problem(f"第 {i + 1} 项重点任务：请选择责任科室", field=f"key_tasks[{i}].departments",
                                    code="required"))
        elif [c for c in codes if c not in names] and names:
            problems.append(Problem(f"第 {i + 1} 项重点任务：责任科室须为参与科室", field=f"key_tasks[{i}].departments",
                                    code="not_in_scope"))
        try:
            due = date.fromisoformat(str(row.get("schedule") or ""))
        except ValueError:
            continue
        if end and due > end:
            problems.append(Problem(f"第 {i + 1} 项重点任务：完成时限不能晚于专项整治结束（{end.isoformat()}）",
                                    field=f"key_tasks[{i}].schedule", code="order"))
        elif due < today and not under_way:
            problems.append(Problem(f"第 {i + 1} 项重点任务：完成时限不能早于今天（{today.isoformat()}）",
                                    field=f"key_tasks[{i}].schedule", code="past"))
    for i, row in enumerate(data.get("leaders") or []):
        outside = [str(c) for c in (row or {}).get("departments") or [] if str(c) not in names]
        if outside and names:
            problems.append(Problem(f"第 {i + 1} 行：分管科室须为参与科室：{'、'.join(outside)}",
                                    field=f"leaders[{i}].departments", code="not_in_scope"))
    return problems


def shape(data: dict, scope: list[dict], today: date) -> dict:
    """What the BPMN runs on: `end` (the campaign's last day), `reporting` (the departments that report
    monthly, each with the plan's key tasks it carries), `late_phases` (phases whose deadline is past at
    launch: a campaign entered while under way — their records are entered late, 补录), `key_work`
    (one item per key task and responsible department: tracked work)."""
    phases = phases_of(data) or []
    end = data.get(DEADLINES[phases[-1]]) if phases else data.get("end_date")
    tasks = [dict(row, task_no=i + 1) for i, row in enumerate(data.get("key_tasks") or [])]
    names = {s["department"]: s["department_name"] for s in scope}
    by_department: dict[str, list[dict]] = {}
    key_work = []
    for t in tasks:
        for code in t.get("departments") or []:
            if code not in names:
                continue
            entry = {"task": t.get("task"), "measure": t.get("measure"),
                     "schedule": t.get("schedule"), "target": t.get("target")}
            by_department.setdefault(code, []).append(entry)
            key_work.append({"department": code, "department_name": names[code], "task_no": t["task_no"],
                             "key_task": t.get("task"), "measure": t.get("measure"), "task_leader": t.get("leader"),
                             "schedule": t.get("schedule") or end, "target": t.get("target"),
                             "late_entry": str(t.get("schedule") or end) < today.isoformat()})
    reporters = reporters_of(data)
    if reporters == "key_departments":
        chosen = {str(c) for c in data.get("key_departments") or []}
        reporting = [s for s in scope if s["department"] in chosen]
    elif reporters == "plan":
        reporting = [s for s in scope if s["department"] in by_department]
    else:
        reporting = list(scope)
    reporting = [dict(s, key_tasks=by_department.get(s["department"], []),
                      statistics_table=bool(data.get("statistics_table"))) for s in reporting]
    late = [p for p in phases if data.get("under_way") and str(data.get(DEADLINES[p]) or "") < today.isoformat()]
    return {"phases": phases, "end": end, "reporting": reporting, "late_phases": late, "key_work": key_work,
            "under_way": bool(data.get("under_way"))}


def late_entries(conn, instance_ids) -> set[str]:
    """The child instances started for a phase already past when the campaign was entered (补录)."""
    found: set[str] = set()
    ids = list(instance_ids)
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(event.c.instance_id, event.c.data_json).where(
                event.c.chain.in_(ids[i:i + 500]), event.c.type == "instance_started")):
            if (json.loads(r.data_json).get("data") or {}).get("late_entry"):
                found.add(r.instance_id)
    return found


# --- operators ----------------------------------------------------------------------------------------

def campaign_shape(ctx, scope) -> dict:
    """After the launch check: the campaign's shape (see `shape`), also recorded as the campaign's
    `shape` milestone so that its pages know its phases without loading the instance."""
    found = shape(ctx.data, scope or [], ctx.now.astimezone(BEIJING).date())
    ctx.event("milestone", {"kind": "shape", "profile": ctx.data.get("profile"), "phases": found["phases"],
                            "end": found["end"], "late_phases": found["late_phases"],
                            "reporting": [r["department"] for r in found["reporting"]]})
    return found


def recorded_phases(conn, campaign_id: str) -> list[str] | None:
    """The phases the campaign runs, as recorded at launch (None: launched before shapes existed)."""
    for raw in conn.execute(sa.select(event.c.data_json).where(
            event.c.chain == campaign_id, event.c.type == "milestone").order_by(event.c.seq)).scalars():
        data = json.loads(raw)
        if data.get("kind") == "shape":
            return data.get("phases")
    return None


def campaign_department_headcount(ctx, department: str) -> int:
    """The department's active staff, its head included: whom its mobilization meeting should reach."""
    return ctx.conn.execute(sa.select(sa.func.count()).select_from(staff).where(
        staff.c.department == department, staff.c.active)).scalar_one()


def campaign_department_head(ctx, department: str) -> str | None:
    """The head of the department (whom the 分管院领导 talks to)."""
    return ctx.conn.execute(sa.select(dept_table.c.head).where(dept_table.c.code == department)).scalar_one_or_none()


def campaign_meeting_attendance(ctx) -> None:
    """The mobilization meeting reaches the whole department (seed 002: 全员参与、全面覆盖): more present
    than the department has staff is refused; fewer needs the make-up arrangement for those absent."""
    headcount = ctx.data.get("headcount")
    attended = ctx.submitted.get("attendance")
    if not isinstance(headcount, int) or not isinstance(attended, int):
        return
    if attended > headcount:
        raise Invalid([Problem(f"参会人数（{attended}）超过本科室在岗人数（{headcount}）", field="attendance",
                               code="over_headcount")])
    if attended < headcount and not str(ctx.submitted.get("makeup") or "").strip():
        raise Invalid([Problem(f"本科室在岗 {headcount} 人，参会 {attended} 人：请写明未参会人员的补学安排",
                               field="makeup", code="not_everyone")])


def focus_area_options(conn) -> list[tuple[str, str]]:
    """The 整治工作项目 (focus areas) of the running campaigns, oldest campaign first, each once: the
    choices of a clue outcome's 所属整治工作项目 (issue 25 item 10), which 附件4 counts row by row."""
    from engine.db.schema import process_instance
    p = process_instance.c
    ids = conn.execute(sa.select(p.id).where(p.process_key == "campaign", p.status.in_(("active", "error")))
                       .order_by(p.started_at)).scalars().all()
    launched: dict[str, list] = {}
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(event.c.chain, event.c.data_json).where(
                event.c.chain.in_(ids[i:i + 500]), event.c.type == "instance_started")):
            launched[r.chain] = (json.loads(r.data_json).get("data") or {}).get("focus_areas") or []
    found: dict[str, str] = {}
    for campaign_id in ids:
        for row in launched.get(campaign_id, []):
            area = str((row or {}).get("area") or "").strip()
            if area:
                found.setdefault(area, area)
    return list(found.items())


def register(registry) -> None:
    registry.add_options("campaign_items", focus_area_options)
    registry.add_service("campaign_shape", campaign_shape)
    registry.add_service("campaign_department_headcount", campaign_department_headcount)
    registry.add_service("campaign_department_head", campaign_department_head)
    registry.add_guard("campaign_meeting_attendance", campaign_meeting_attendance)
