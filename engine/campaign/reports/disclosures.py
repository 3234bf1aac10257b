"""附件2 主动说明问题情况汇总表: per department, the people who disclosed, the issues they disclosed,
the money (万元) and goods they handed in; a total row.

Read from each disclosure's registration task, whose data carries the start form, the campaign it
belongs to and the engine's on-time verdict. A disclosure counts from the moment it was submitted
(its instance's start), up to the cut-off; one the office recorded afterwards for a paper or in-person
disclosure counts from the day it was made. The people (the disclosers, also when the office recorded
it for them) are counted once per department.

Red envelopes and gifts handed in through the standing register (红包上缴登记, `engine.records.gifts`)
between the campaign's start and the cut-off add to the money and goods of their department: they were
handed in, as the column says (主动上交钱款／财物); they add no person and no issue, as nobody disclosed
anything. The column stays one column as in the seed, shown as two sub-columns (money 万元, goods
items) so that the two units never add up.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from engine.campaign.operators import DISCLOSURE, money
from engine.db.schema import department, process_instance
from engine.deadlines.workdays import BEIJING
from engine.records import gifts
from engine.runtime import queries


def disclosures(conn, campaign_id: str, until: datetime | None = None) -> dict:
    """Rows per department (by name), each with people, issues, money (a string, 2 decimals, 万元),
    goods, on_time and late; and the total. `until`: only disclosures submitted before it."""
    q = sa.select(process_instance.c.id, process_instance.c.started_by).where(
        process_instance.c.process_key == DISCLOSURE, process_instance.c.status != "cancelled")
    if until is not None:
        q = q.where(process_instance.c.started_at < until)
    starters = dict(conn.execute(q).all())
    last_day = until.astimezone(BEIJING).date() - timedelta(days=1) if until is not None else None
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    per: dict[str, dict] = {}
    seen = set()
    for r in queries.task_data(conn, starters, ["register"]):
        if r.instance_id in seen:
            continue
        data = r.data
        if (data.get("campaign") or {}).get("id") != campaign_id:
            continue
        # recorded by the office afterwards: it counts from the day it was made (a cut-off before that
        # day leaves it out), and for the person who made it
        made_on = (data.get("campaign") or {}).get("disclosed_on")
        if last_day is not None and made_on and made_on > last_day.isoformat():
            continue
        seen.add(r.instance_id)
        code = (data.get("campaign") or {}).get("department") or ""
        d = per.setdefault(code, {"department": code, "name": names.get(code, code or "—"), "people": set(),
                                  "issues": 0, "money": Decimal("0"), "goods": 0, "on_time": 0, "late": 0})
        d["people"].add(((data.get("campaign") or {}).get("discloser") or {}).get("username") or starters[r.instance_id])
        d["issues"] += len(data.get("issues") or [])
        d["money"] += money(data.get("money"))
        d["goods"] += int(data.get("goods_count") or 0)
        d["on_time" if data.get("on_time") else "late"] += 1
    started = conn.execute(sa.select(process_instance.c.started_at).where(
        process_instance.c.id == campaign_id)).scalar_one_or_none()
    if started is not None:
        for code, handed in gifts.department_totals(conn, started, until).items():
            code = code or ""
            d = per.setdefault(code, {"department": code, "name": names.get(code, code or "—"), "people": set(),
                                      "issues": 0, "money": Decimal("0"), "goods": 0, "on_time": 0, "late": 0})
            d["money"] += handed["money"]
            d["goods"] += handed["goods"]
    lines = [dict(d, people=len(d["people"]), money=f"{d['money']:.2f}")
             for d in sorted(per.values(), key=lambda x: x["name"])]
    total = {"people": sum(x["people"] for x in lines), "issues": sum(x["issues"] for x in lines),
             "money": f"{sum((Decimal(x['money']) for x in lines), Decimal('0')):.2f}",
             "goods": sum(x["goods"] for x in lines), "on_time": sum(x["on_time"] for x in lines),
             "late": sum(x["late"] for x in lines)}
    return {"rows": lines, "total": total}
