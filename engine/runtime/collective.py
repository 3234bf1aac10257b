"""Collective decision (集体研判), a completion guard any process may name: `collective_decision`.

The task's submission records a meeting: `meeting_date` (ISO date, not in the future), `participants`
(rows of `person` — a username — and that person's `opinion`) and the `conclusion` (or the field the
task's `conclusionField` property names). At least the
process's `quorum` (a property of the `<bpmn:process>`, default `DEFAULT_QUORUM`) distinct active staff
must have taken part, each with an opinion, none of them recused from the instance. Otherwise the
completion is refused with a problem on the field at fault — nothing is written.

The approval by a leader who was not the proposer is the separation of duties of the approval task
(`notPerformedBy`), see `engine.runtime.separation`.
"""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from engine.db.schema import process_instance, process_version, staff
from engine.deadlines.workdays import BEIJING
from engine.errors import Invalid, Problem
from engine.runtime import recusal

NAME = "collective_decision"
DEFAULT_QUORUM = 3


def quorum(conn, instance_id: str) -> int:
    """The process's `quorum` property (of the instance's version), or DEFAULT_QUORUM."""
    meta = conn.execute(sa.select(process_version.c.meta_json)
                        .join(process_instance, process_instance.c.process_version_id == process_version.c.id)
                        .where(process_instance.c.id == instance_id)).scalar_one_or_none()
    return int(json.loads(meta or "{}").get("process", {}).get("quorum") or DEFAULT_QUORUM)


def collective_decision(ctx) -> None:
    """Refuse the completion unless the submission records a quorate meeting (see the module)."""
    data = {**ctx.data, **ctx.submitted}
    problems = []
    try:
        held = date.fromisoformat(str(data.get("meeting_date") or ""))
        if held > ctx.now.astimezone(BEIJING).date():
            problems.append(Problem("会议日期不能晚于今天", field="meeting_date", code="future"))
    except ValueError:
        problems.append(Problem("请填写研判会议日期", field="meeting_date", code="required"))
    rows = data.get("participants") or []
    rows = rows if isinstance(rows, list) else []
    people = [r.get("person") for r in rows if isinstance(r, dict) and r.get("person")]
    silent = [r.get("person") for r in rows if isinstance(r, dict) and not (r.get("opinion") or "").strip()]
    known = {r.username for r in ctx.conn.execute(sa.select(staff.c.username).where(
        staff.c.username.in_(sorted(set(people)) or [""]), staff.c.active))}
    needed = quorum(ctx.conn, ctx.instance_id)
    if silent:
        problems.append(Problem("每位参会人员都须发表意见", field="participants", code="opinion_missing"))
    if len(set(people)) != len(people):
        problems.append(Problem("参会人员不能重复", field="participants", code="duplicate"))
    excluded = recusal.excluded_persons(ctx.conn, ctx.instance_id)
    if excluded and any(excluded.excludes(p) for p in known):
        problems.append(Problem("须回避的人员不能参加研判", field="participants", code="recused"))
    if len(known) < needed:
        problems.append(Problem(f"参会人员不足：集体研判须至少 {needed} 人参加（现 {len(known)} 人）",
                                field="participants", code="quorum"))
    conclusion = (ctx.properties.get("conclusionField") or "conclusion").strip()
    if not (data.get(conclusion) or "").strip():
        problems.append(Problem("请填写研判结论", field=conclusion, code="required"))
    if problems:
        raise Invalid("集体研判记录不完整", problems)
