"""附件4's four forms from voluntary disclosures: a disclosure the discipline office registered as
qualifying (认定为主动说明问题) with one of the four forms (四种形态) counts like a clue's outcome — in
the row of the campaign item the office named (else 未归类), for the person who disclosed (中层 or 其他
by their staff record) and their department then. Seed 002: "准确把握主动说明问题的认定口径，精准运用
监督执纪"四种形态"".
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.campaign.operators import DISCLOSURE
from engine.db.schema import process_instance, staff
from engine.runtime import queries

FORMS = ("first", "second", "third", "fourth")


def qualified(conn, campaign_id: str, until: datetime) -> list[dict]:
    """Each disclosure of the campaign registered before `until` as qualifying, with a form applied:
    item, form, person (name, department) and level."""
    ids = list(conn.execute(sa.select(process_instance.c.id).where(
        process_instance.c.process_key == DISCLOSURE, process_instance.c.status != "cancelled",
        process_instance.c.started_at < until)).scalars())
    found = []
    for r in queries.task_data(conn, ids, ["register"], until=until):
        d = r.data
        campaign = d.get("campaign") or {}
        if campaign.get("id") != campaign_id or not d.get("qualifies") or d.get("discipline_form") not in FORMS:
            continue
        who = campaign.get("discloser") or {}
        found.append({"item": str(d.get("campaign_item") or "").strip(), "form": d["discipline_form"],
                      "username": who.get("username"), "name": who.get("name") or "",
                      "department": who.get("department") or campaign.get("department") or ""})
    levels = dict(conn.execute(sa.select(staff.c.username, staff.c.position_level).where(
        staff.c.username.in_([f["username"] for f in found if f["username"]] or ["-"]))).all())
    for f in found:
        f["level"] = levels.get(f["username"], "other")
    return found
