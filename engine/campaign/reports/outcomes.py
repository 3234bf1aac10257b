"""附件4 专项整治情况汇总表: per campaign item (整治工作项目), the departments involved by category,
the people dealt with (中层 / 其他), the four forms (第一至第四种形态), administrative penalties,
issues publicly reported (通报) and rules improved (完善制度); a total row. Where a handling counts
(the four forms for party members and public employees, 行政处罚 only for staff who are neither) is
the seed's note 2, applied by `engine.clues.four_forms.counted`.

The items are the campaign's `focus_areas` (launch form), in their order, then any other item an
outcome names, then 未归类 for outcomes naming none. A clue counts once its outcome (处理结果) was
recorded by the cut-off, with what was recorded then (the `task_completed` event). A person is dealt
with when given one of the four forms or an administrative penalty; people and departments are
counted once per row. The consolidation phase's 以案促改 rules are a row of their own. A voluntary
disclosure the office registered as qualifying, with a form applied, counts too (`disclosure_forms`).
"""
from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa

from engine.db.schema import department, event, process_instance
from engine.campaign.reports.common import CampaignRef, cutoff_instant
from engine.campaign.reports import disclosure_forms
from engine.campaign.reports.ledger import campaign_clues
from engine.clues import four_forms

CATEGORIES = ("administrative", "clinical", "medical_technical")
FORMS = four_forms.FORMS
UNFILED = "未归类"
REFORM = "以案促改（完善制度）"


def _blank(item: str) -> dict:
    return {"item": item, "departments": {c: set() for c in CATEGORIES}, "people": {"middle_manager": set(),
            "other": set()}, "forms": {f: set() for f in FORMS}, "admin_penalty": set(), "publicized": 0,
            "rules": 0}


def outcomes(conn, camp: CampaignRef, cutoff: date, now: datetime, viewer=None) -> dict:
    """Rows (one per item, then 以案促改 when any rule was improved) of counts, and the total."""
    until = min(now, cutoff_instant(cutoff))
    clues = {r["instance_id"]: r for r in campaign_clues(conn, camp, cutoff, now, viewer)}
    categories = dict(conn.execute(sa.select(department.c.code, department.c.category)).all())
    items = [str(a.get("area")).strip() for a in camp.launch.get("focus_areas") or [] if str(a.get("area") or "").strip()]
    rows = {item: _blank(item) for item in items}
    # a clue reopened by 回头看 counts with its latest round's outcome (the rounds are in order)
    line_of = {r["instance_id"]: (iid, r["round"]) for iid, c in clues.items() for r in c["rounds"]}
    latest: dict[str, dict] = {}
    found = _completed(conn, [*clues, *(r for r in line_of if r not in clues)], "outcome", until)
    for rid, submitted in sorted(found, key=lambda f: line_of.get(f[0], (f[0], 1))[1]):
        latest[line_of.get(rid, (rid, 1))[0]] = submitted
    for iid, submitted in latest.items():
        clue = clues[iid]
        item = str(submitted.get("campaign_item") or "").strip() or UNFILED
        row = rows.setdefault(item, _blank(item))
        person = (clue["person_name"] or "", clue["person_department"] or "")
        # the rule of the seed's notes (four forms / 行政处罚), encoded once in engine.clues.four_forms
        handled = four_forms.counted(clue["party_member"], clue.get("public_employee"),
                                     submitted.get("discipline_form"), submitted.get("admin_penalty"))
        if handled.form is not None:
            row["forms"][handled.form].add(person)
        if handled.admin_penalty:
            row["admin_penalty"].add(person)
        if handled.dealt_with:
            # 院领导 count with 中层及以上 (the report's column)
            level = "middle_manager" if clue["position_level"] in ("middle_manager", "hospital_leader") else "other"
            row["people"][level].add(person)
            category = categories.get(clue["person_department"])
            if category in row["departments"]:
                row["departments"][category].add(clue["person_department"])
        row["publicized"] += bool(submitted.get("publicized"))
        row["rules"] += int(submitted.get("rules_improved") or 0)
    for d in disclosure_forms.qualified(conn, camp.id, until):
        row = rows.setdefault(d["item"] or UNFILED, _blank(d["item"] or UNFILED))
        person = (d["name"], d["department"])
        row["forms"][d["form"]].add(person)
        row["people"]["middle_manager" if d["level"] in ("middle_manager", "hospital_leader") else "other"].add(person)
        if categories.get(d["department"]) in row["departments"]:
            row["departments"][categories[d["department"]]].add(d["department"])
    reform = _reform(conn, camp, until, categories)
    ordered = [rows[i] for i in items] + [r for k, r in rows.items() if k not in items and k != UNFILED]
    if UNFILED in rows:
        ordered.append(rows[UNFILED])
    if reform["rules"]:
        ordered.append(reform)
    lines = [_count(r) for r in ordered]
    return {"rows": lines, "total": _total(ordered)}


def _completed(conn, instance_ids: list[str], element: str, until: datetime) -> list[tuple[str, dict]]:
    """(instance, submitted data) of each completion of `element` before `until`, the last one per instance."""
    found: dict[str, dict] = {}
    for i in range(0, len(instance_ids), 500):
        for e in conn.execute(sa.select(event.c.instance_id, event.c.data_json).where(
                event.c.chain.in_(instance_ids[i:i + 500]), event.c.type == "task_completed",
                event.c.element_id == element, event.c.at < until).order_by(event.c.seq)):
            found[e.instance_id] = json.loads(e.data_json).get("data") or {}
    return list(found.items())


def _reform(conn, camp: CampaignRef, until: datetime, categories: dict) -> dict:
    """以案促改: the rules each department created or amended in the consolidation phase."""
    from engine.campaign.operators import child_departments
    row = _blank(REFORM)
    ids = list(conn.execute(sa.select(process_instance.c.id).where(
        process_instance.c.parent_id == camp.id,
        process_instance.c.process_key == "campaign_consolidation_dept")).scalars())
    depts = child_departments(conn, ids)
    for iid, submitted in _completed(conn, ids, "reform", until):
        n = len(submitted.get("rules") or [])
        row["rules"] += n
        code = depts.get(iid)
        if n and categories.get(code) in row["departments"]:
            row["departments"][categories[code]].add(code)
    return row


def _count(row: dict) -> dict:
    d = {c: len(row["departments"][c]) for c in CATEGORIES}
    p = {lvl: len(row["people"][lvl]) for lvl in ("middle_manager", "other")}
    f = {x: len(row["forms"][x]) for x in FORMS}
    return {"item": row["item"], "departments": dict(d, total=sum(d.values())),
            "people": dict(p, total=len(row["people"]["middle_manager"] | row["people"]["other"])),
            "forms": dict(f, total=sum(f.values())), "admin_penalty": len(row["admin_penalty"]),
            "publicized": row["publicized"], "rules": row["rules"]}


def _total(rows: list[dict]) -> dict:
    """The 合计 row: departments and people counted once across the items."""
    total = _blank("合计")
    for r in rows:
        for c in CATEGORIES:
            total["departments"][c] |= r["departments"][c]
        for lvl in total["people"]:
            total["people"][lvl] |= r["people"][lvl]
        for f in FORMS:
            total["forms"][f] |= {(r["item"],) + p for p in r["forms"][f]}
        total["admin_penalty"] |= r["admin_penalty"]
        total["publicized"] += r["publicized"]
        total["rules"] += r["rules"]
    return _count(total)
