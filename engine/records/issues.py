"""问题清单, the standing list of problems under 销号管理 (seed 004: "对查摆出的问题，要建立问题清单，
实行销号管理"): every issue item, whether a campaign's inspection found it or it was entered from a
self-inspection, a patrol (巡视巡察), an audit or a special check (seed 002) — with its department,
its deadline and where it stands: being rectified, waiting for the office's check, or closed out.

Each item is an instance of `processes/campaign_issue_item.bpmn`.
"""
from __future__ import annotations

import io

import sqlalchemy as sa

from engine.db.schema import department, event, human_task, process_instance
from engine.db.transactions import read_transaction
from engine.org.hospital import hospital_name
from engine.runtime import queries
from engine.text import cell

ISSUE = "campaign_issue_item"
STATUSES = ("rectifying", "verifying", "closed_out")
# Its source when the form did not say: a campaign's inspection (督导检查) started it.
SOURCE_NAMES = {"inspection": ("督导检查", "Campaign inspection")}


def items(conn, *, now, status: str | None = None, departments: set[str] | None = None) -> list[dict]:
    """Every issue item (not cancelled), oldest first; `status` "open" keeps those not closed out, one of
    `STATUSES` those in it; `departments` keeps those departments' items."""
    p = process_instance.c
    # items listed by one operation (a self-inspection's problems) keep the order they were entered in
    listed = sa.select(sa.func.min(event.c.id)).where(event.c.instance_id == p.id).scalar_subquery()
    rows = conn.execute(sa.select(p.id, p.status, p.started_at, p.ended_at, p.parent_id).where(
        p.process_key == ISSUE, p.status != "cancelled").order_by(p.started_at, listed, p.id)).all()
    data = queries.instance_data(conn, [r.id for r in rows])
    h = human_task.c
    open_tasks = {r.instance_id: r for r in conn.execute(sa.select(h.instance_id, h.element_id, h.due_at).where(
        h.instance_id.in_([r.id for r in rows]), h.status == "open"))} if rows else {}
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    out = []
    for r in rows:
        d = data.get(r.id, {})
        task = open_tasks.get(r.id)
        state = "closed_out" if r.status == "completed" else "verifying" if task and task.element_id == "verify" \
            else "rectifying"
        if (status == "open" and state == "closed_out") or (status in STATUSES and state != status):
            continue
        if departments is not None and d.get("department") not in departments:
            continue
        entry = d.get("entry") or {}
        out.append({
            "id": r.id, "listed_at": r.started_at, "source": entry.get("source") or d.get("source") or "inspection",
            "source_ref": d.get("source_ref") or d.get("doc_no") or "", "campaign": d.get("campaign_name") or "",
            "department": d.get("department"), "department_name": names.get(d.get("department"), "—"),
            "problem": d.get("problem") or "", "measure": d.get("measure") or "", "status": state,
            "due_at": task.due_at if task else None, "overdue": bool(task and task.due_at and task.due_at < now),
            "closed_at": r.ended_at if state == "closed_out" else None})
    return out


def source_names(engine, locale: str = "zh") -> dict[str, str]:
    """The names of the sources, from the entry form (and the inspection's own), in `locale`."""
    options = engine.forms.get("issue_item_entry")["schema"]["properties"]["source"]["oneOf"]
    i = 1 if locale == "en" else 0
    names = {k: v[i] for k, v in SOURCE_NAMES.items()}
    names.update({o["const"]: (o.get("title_en") if locale == "en" else None) or o["title"] for o in options})
    return names


def register_page(engine, *, status: str | None = None, departments: set[str] | None = None,
                  locale: str = "zh") -> dict:
    """The problem list as the office (every department) or a department head (theirs) reads it."""
    with read_transaction(engine.db) as conn:
        rows = items(conn, now=engine.clock.now(), status=status, departments=departments)
        hospital = hospital_name(conn)
    return {"items": rows, "status": status, "hospital": hospital, "sources": source_names(engine, locale),
            "counts": {s: sum(r["status"] == s for r in rows) for s in STATUSES},
            "overdue": sum(r["overdue"] for r in rows)}


HEADER = ("序号", "问题来源", "来源文件", "责任科室", "问题描述", "整改措施", "整改期限", "状态", "销号日期")
STATUS_NAMES = {"rectifying": "整改中", "verifying": "待核验", "closed_out": "已销号"}


def register_workbook(page: dict, title: str, day) -> bytes:
    """The list as an .xlsx; `day(datetime)` writes a moment as the reader's date. User text as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    ws = wb.active
    ws.title = "问题清单"
    ws.append([cell(title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(HEADER))
    for i, r in enumerate(page["items"], start=1):
        ws.append([i, cell(page["sources"].get(r["source"], r["source"])), cell(r["source_ref"] or r["campaign"]),
                   cell(r["department_name"]), cell(r["problem"]), cell(r["measure"]),
                   day(r["due_at"]) if r["due_at"] else "", STATUS_NAMES[r["status"]],
                   day(r["closed_at"]) if r["closed_at"] else ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
