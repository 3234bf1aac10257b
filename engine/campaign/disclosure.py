"""主动说明问题, voluntary disclosure: whose it is, when it was made and which campaign it belongs to.

Seed 002: "需要向组织主动说明问题的，应于8月30日前向医院纪委报告，准确把握主动说明问题的认定口径，精准运用
监督执纪"四种形态"，对于确属主动投案说明问题的，依规依纪依法适用从宽政策".

- A member of staff discloses for themselves, today, while a campaign runs.
- The discipline office also records a disclosure made on paper or in person: for the real person
  (`person`) and the real day (`disclosed_on`, not the clock's today), also when no campaign runs (then
  it belongs to none and counts in no campaign's report).
- When several campaigns run, the discloser (or the office) names the one it belongs to (`campaign_ref`:
  its 文号, name or id); with one running, it belongs to that one.

Whether it was on time is decided by the BPMN from the campaign's disclosure deadline and the day the
disclosure was made (`disclosed_on`), never typed by anyone.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from engine.campaign.operators import CAMPAIGN, launch_data
from engine.db.schema import process_instance
from engine.deadlines.workdays import BEIJING
from engine.errors import Invalid, Problem
from engine.org.people import principal
from engine.org.roles import DISCIPLINE_OFFICE
from engine.text import Words


def campaigns(conn, *, running_only: bool) -> list[dict]:
    """The campaigns (newest first) a disclosure may belong to: id, name, 文号, disclosure deadline."""
    p = process_instance.c
    q = sa.select(p.id, p.status).where(p.process_key == CAMPAIGN, p.status != "cancelled")
    if running_only:
        q = q.where(p.status.in_(("active", "error")))
    out = []
    for row in conn.execute(q.order_by(p.started_at.desc(), p.id)):
        launch = launch_data(conn, row.id)
        if not launch.get("disclosure_deadline"):   # an action plan (seeds 000/001) takes no disclosures
            continue
        out.append({"id": row.id, "name": launch.get("name"), "doc_no": launch.get("doc_no"),
                    "disclosure_deadline": launch.get("disclosure_deadline"),
                    "running": row.status in ("active", "error")})
    return out


def _named(c: dict) -> str:
    return f"《{c['name']}》" + (f"（{c['doc_no']}）" if c.get("doc_no") else "")


def campaign_options(conn) -> list[tuple[str, str]]:
    """The disclosure form's choice of campaign (`optionsFrom: disclosure_campaigns`): those taking
    disclosures, newest first; an ended one is marked (only the office may file under it), in `Words`
    a page says in the reader's language."""
    return [(c["id"], _named(c) if c["running"] else Words("%(campaign)s（已结束）", campaign=_named(c)))
            for c in campaigns(conn, running_only=False)]


def disclosure_window(ctx) -> dict:
    """The campaign a disclosure belongs to (id None: none), the discloser and their department then,
    and the day it was made. Refusals name the field."""
    conn = ctx.conn
    actor = principal(conn, ctx.actor)
    office = actor is not None and DISCIPLINE_OFFICE in actor.roles
    named = str(ctx.data.get("person") or "").strip()
    on_text = str(ctx.data.get("disclosed_on") or "").strip()
    ref = str(ctx.data.get("campaign_ref") or "").strip()
    today = ctx.now.astimezone(BEIJING).date()
    if named and named != ctx.actor and not office:
        raise Invalid("只有纪检监察室可以代他人登记", [Problem(
            "只有纪检监察室可以代他人登记主动说明；本人说明请留空", field="person", code="not_office")])
    if on_text and not office:
        raise Invalid("只有纪检监察室可以填写说明日期", [Problem(
            "说明日期由纪检监察室代为登记时填写；本人说明请留空", field="disclosed_on", code="not_office")])
    person = principal(conn, named or ctx.actor)
    if person is None:
        raise Invalid("找不到说明人", [Problem("找不到该人员，或该人员已停用", field="person", code="unknown")])
    on = today
    if on_text:
        try:
            on = date.fromisoformat(on_text)
        except ValueError:
            raise Invalid("说明日期有误", [Problem("日期格式应为 2026-08-20", field="disclosed_on")]) from None
        if on > today:
            raise Invalid("说明日期有误", [Problem("说明日期不能晚于今天", field="disclosed_on", code="future")])
    running = campaigns(conn, running_only=True)
    chosen = None
    if ref:
        # the office may file a paper disclosure under a campaign that has ended since; staff only a running one
        pool = campaigns(conn, running_only=False) if office else running
        chosen = next((c for c in pool if ref in (c["id"], c["doc_no"], c["name"])), None)
        if chosen is None:
            listed = "、".join(_named(c) for c in running) or "无"
            raise Invalid("找不到所填的专项整治", [Problem(
                f"找不到“{ref}”；正在进行的专项整治：{listed}（请从列表中选择）", field="campaign_ref", code="unknown")])
    elif len(running) == 1:
        chosen = running[0]
    elif len(running) > 1:
        raise Invalid("请选择所属专项整治", [Problem(
            f"目前有 {len(running)} 项专项整治正在进行，请选择本次说明所属的专项整治："
            + "、".join(_named(c) for c in running), field="campaign_ref", code="choose_campaign")])
    elif not office:
        raise Invalid("目前没有正在进行的专项整治", [Problem("目前没有正在进行的专项整治，无法提交主动说明问题",
                                                    field="issues", code="no_campaign")])
    c = chosen or {}
    return {"id": c.get("id"), "name": c.get("name"), "doc_no": c.get("doc_no"),
            "disclosure_deadline": c.get("disclosure_deadline"), "department": person.department,
            "discloser": {"username": person.username, "name": person.name, "department": person.department},
            "disclosed_on": on.isoformat(), "recorded_by": ctx.actor if office and (named or on_text) else None}
