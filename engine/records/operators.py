"""The records' service operators, joined to an engine by `engine.bootstrap` like every domain's."""
from __future__ import annotations

from engine.errors import Invalid, Problem
from engine.org.people import principal
from engine.org.roles import DISCIPLINE_OFFICE
from engine.runtime import connectors


def records_gift_person(ctx) -> dict:
    """Who handed a red envelope in, and their department then: the starter, or — when the discipline
    office registers for someone else — the person it names. Nobody else registers for another."""
    named = (ctx.data.get("person") or "").strip()
    actor = principal(ctx.conn, ctx.actor)
    if named and named != ctx.actor and (actor is None or DISCIPLINE_OFFICE not in actor.roles):
        raise Invalid("只有纪检监察室可以代他人登记", [Problem(
            "只有纪检监察室可以代他人登记；本人上缴请留空", field="person", code="not_office")])
    person = principal(ctx.conn, named or ctx.actor)
    if person is None:
        raise Invalid("找不到上缴人", [Problem("找不到该人员，或该人员已停用", field="person", code="unknown")])
    return {"username": person.username, "name": person.name, "department": person.department,
            "recorded_by": ctx.actor}


def records_issue_entry(ctx) -> dict:
    """Where an issue item came from. One a campaign's inspection started is an inspection finding;
    one entered by hand names its source, and a department head may enter one only for a department
    they head (the office for any)."""
    if ctx.data.get("parent_instance_id"):
        return {"source": ctx.data.get("source") or "inspection", "entered_by": None}
    actor = principal(ctx.conn, ctx.actor)
    department = ctx.data.get("department")
    if actor is None or (DISCIPLINE_OFFICE not in actor.roles and department not in actor.heads):
        raise Invalid("只能为本科室列入问题", [Problem("科室负责人只能为本科室列入问题", field="department",
                                                 code="not_own_department")])
    return {"source": ctx.data.get("source") or "other", "entered_by": ctx.actor}


def records_issue_list(ctx) -> list[dict]:
    """The rows of a feedback's problem list (巡视巡察, 审计, 专项检查), each to become one issue item;
    a department head lists problems of the departments they head only — refused on the row's field."""
    actor = principal(ctx.conn, ctx.actor)
    rows = list(ctx.data.get("items") or [])
    office = actor is not None and DISCIPLINE_OFFICE in actor.roles
    problems = [Problem(f"第 {i + 1} 行：科室负责人只能为本科室列入问题", field=f"items[{i}].department",
                        code="not_own_department")
                for i, row in enumerate(rows) if not office and (actor is None or row.get("department") not in actor.heads)]
    if problems:
        raise Invalid("只能为本科室列入问题", problems)
    return [{"department": r.get("department"), "problem": r.get("problem"), "measure": r.get("measure"),
             "deadline_days": r.get("deadline_days")} for r in rows]


def records_opinion_person(ctx) -> dict:
    """党风廉政意见回复: the person the Party committee asks about, and their department now."""
    person = principal(ctx.conn, (ctx.data.get("person") or "").strip())
    if person is None:
        raise Invalid("找不到该人员", [Problem("找不到该人员，或该人员已停用", field="person", code="unknown")])
    return {"username": person.username, "name": person.name, "department": person.department}


def register(registry: connectors.Connectors) -> None:
    registry.add_service("records_gift_person", records_gift_person)
    registry.add_service("records_issue_entry", records_issue_entry)
    registry.add_service("records_issue_list", records_issue_list)
    registry.add_service("records_opinion_person", records_opinion_person)
    from engine.records.persons import case_view
    registry.add_view("records_person_file", case_view)
