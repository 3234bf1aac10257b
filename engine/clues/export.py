"""The clue ledger as an Excel workbook in seed 002's 附件3 layout (openpyxl).

Columns 序号, 姓名, 职务, 线索摘要, 线索来源, 受理时间, 处置方式及结果, then the 填报人 / 联系电话 /
审核人 line and the note on sources and cut-off date. No reporter identity is ever in it.
"""
from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from engine.text import cell, cells

HEADERS = ("序号", "姓名", "职务", "线索摘要", "线索来源", "受理时间", "处置方式及结果")
WIDTHS = (6, 10, 16, 50, 16, 16, 50)
NOTE = ("说明：1.线索来源分为：信访举报、检举控告、巡视巡察、上级纪委监委交办、审计发现、政法机关移送、自行发现等；"
        "2.统计口径为专项整治工作启动以来截至填报日期的累计数据。")


def ledger_workbook(rows: list[dict], *, title: str, filled_by: str, phone: str, reviewer: str,
                    cut_off: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "问题线索台帐"
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append([cell(title)])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(list(HEADERS))
    for c in ws[2]:
        c.font, c.border, c.alignment = Font(bold=True), box, Alignment(horizontal="center")
    for n, r in enumerate(rows, start=1):
        ws.append(cells([n, r["person_name"], r["person_position"] or "", r["summary"] or "", r["source_name"],
                         _chinese_date(r["received_on"]), r["result"] or r["stage"]]))
        for c in ws[ws.max_row]:
            c.border, c.alignment = box, wrap
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[chr(64 + i)].width = width
    ws.append([])
    ws.append(cells([f"填报人：{filled_by}", None, None, f"联系电话：{phone}", None, f"审核人：{reviewer}"]))
    ws.append([NOTE])
    ws.append([f"截至日期：{_chinese_date(cut_off.isoformat())}"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _chinese_date(iso: str | None) -> str:
    if not iso:
        return ""
    d = date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"
