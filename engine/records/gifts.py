"""红包上缴登记, the standing register of red envelopes and gifts handed in (seed 000: "对不知情或
不可抗"红包"应当建立上缴登记制度"): who, when, from whom (if known), money or goods, how handed
in, the office's receipt number.

Each entry is an instance of `processes/gift_handin.bpmn`: registered once the office recorded its
receipt, pending before. Entries count from their submission, like disclosures; while a campaign
runs, the money and goods handed in by its staff also count in 附件2's 主动上交钱款／财物 column
(`department_totals`).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from engine.db.schema import department, process_instance
from engine.db.transactions import read_transaction
from engine.deadlines.workdays import BEIJING
from engine.org.hospital import hospital_name
from engine.runtime import queries
from engine.text import cell

GIFT = "gift_handin"
WAN = Decimal("10000")   # 附件2 counts money in 万元 (ten thousand yuan); the register in 元


def _yuan(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def entries(conn, *, since: datetime | None = None, until: datetime | None = None) -> list[dict]:
    """The register's entries handed in from `since` up to `until`, oldest first."""
    p = process_instance.c
    q = sa.select(p.id, p.status, p.started_at, p.started_by).where(p.process_key == GIFT, p.status != "cancelled")
    if since is not None:
        q = q.where(p.started_at >= since)
    if until is not None:
        q = q.where(p.started_at < until)
    rows = conn.execute(q.order_by(p.started_at, p.id)).all()
    # What was handed in does not change after the hand-in (only the office's receipt is added): the
    # current data, also for a past cut-off.
    data = queries.instance_data(conn, [r.id for r in rows])
    names = dict(conn.execute(sa.select(department.c.code, department.c.name_zh)).all())
    out = []
    for r in rows:
        d = data.get(r.id, {})
        who = d.get("handed_in_by") or {}
        out.append({
            "id": r.id, "submitted_at": r.started_at, "registered": r.status == "completed" and bool(d.get("receipt_no")),
            "username": who.get("username") or r.started_by, "name": who.get("name") or r.started_by,
            "department": who.get("department"), "department_name": names.get(who.get("department"), "—"),
            "recorded_by": who.get("recorded_by") or r.started_by,
            "received_on": d.get("received_on"), "giver_kind": d.get("giver_kind"), "giver": d.get("giver") or "",
            "amount": _yuan(d.get("amount")), "goods": d.get("goods") or "", "goods_count": int(d.get("goods_count") or 0),
            "how": d.get("how"), "receipt_no": d.get("receipt_no") or "", "note": d.get("note") or ""})
    return out


def department_totals(conn, since: datetime, until: datetime | None) -> dict[str | None, dict]:
    """Per department: the money (万元, Decimal) and goods (items) handed in between the two moments."""
    totals: dict[str | None, dict] = {}
    for e in entries(conn, since=since, until=until):
        t = totals.setdefault(e["department"], {"money": Decimal("0"), "goods": 0})
        t["money"] += e["amount"] / WAN
        t["goods"] += e["goods_count"]
    return totals


def labels(engine, locale: str = "zh") -> dict[str, dict[str, str]]:
    """The names of the coded answers (送出方, 上缴方式) from the hand-in form, in `locale`."""
    schema = engine.forms.get(GIFT)["schema"]["properties"]
    title = "title_en" if locale == "en" else "title"
    return {name: {o["const"]: o.get(title) or o["title"] for o in schema[name].get("oneOf", [])}
            for name in ("giver_kind", "how")}


def register_page(engine, *, year: int | None = None, locale: str = "zh") -> dict:
    """The register for a year (Beijing time; every year when None): entries, totals and the names
    of the coded answers."""
    since = until = None
    if year is not None:
        since = datetime(year, 1, 1, tzinfo=BEIJING)
        until = datetime(year + 1, 1, 1, tzinfo=BEIJING)
    with read_transaction(engine.db) as conn:
        rows = entries(conn, since=since, until=until)
        hospital = hospital_name(conn)
    return {"entries": rows, "year": year, "hospital": hospital, "labels": labels(engine, locale),
            "total": {"amount": sum((e["amount"] for e in rows), Decimal("0")),
                      "goods_count": sum(e["goods_count"] for e in rows), "count": len(rows),
                      "pending": sum(not e["registered"] for e in rows)}}


HEADER = ("序号", "上缴人", "科室", "收到日期", "送出方", "送出人", "钱款（元）", "礼品、财物", "数量",
          "上缴方式", "收据编号", "状态", "情况说明")


def register_workbook(page: dict, title: str) -> bytes:
    """The register as an .xlsx: user text always written as text (`engine.text.cell`)."""
    import io
    from openpyxl import Workbook
    from openpyxl.styles import Font
    labels = page["labels"]
    wb = Workbook()
    ws = wb.active
    ws.title = "红包上缴登记"
    ws.append([cell(title)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(HEADER))
    for i, e in enumerate(page["entries"], start=1):
        ws.append([i, cell(e["name"]), cell(e["department_name"]), cell(e["received_on"] or ""),
                   cell(labels["giver_kind"].get(e["giver_kind"], e["giver_kind"] or "")), cell(e["giver"]),
                   float(e["amount"]), cell(e["goods"]), e["goods_count"], cell(labels["how"].get(e["how"], e["how"] or "")),
                   cell(e["receipt_no"]), "已登记" if e["registered"] else "待登记", cell(e["note"])])
    ws.append(["合计", None, None, None, None, None, float(page["total"]["amount"]), None, page["total"]["goods_count"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
