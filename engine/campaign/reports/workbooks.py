"""The reports as Excel workbooks (openpyxl) in the seeds' layouts: a title row, the header with
its merged cells exactly as in seed 002's 附件2 and 附件4 (and a two-level header for the monthly
report), the rows, the 合计 row, then 填报人 / 联系电话 / 审核人, the note on the counting basis and
the cut-off day. 附件3 is `engine.clues_export.ledger_workbook` (one implementation).
"""
from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from engine.campaign.reports.common import Signature
from engine.text import Words, cell, cells

NOTE = "说明：统计口径为专项整治工作启动以来截至填报日期的累计数据。"
# Seed 002 附件4's own notes, word for word.
OUTCOME_NOTE = "说明：1.“处理人员”中“其他”包括中层以下公职人员、非党员、非公职人员等；2.“行政处罚”中仅填写对非党员、非公职人员的处理处罚人数；3.统计口径为专项整治工作启动以来截至填报日期的累计数据。"
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

# (first row, first column, text, rows spanned, columns spanned); the header starts on row 2.
DISCLOSURE_HEADER = [
    (2, 1, "序号", 2, 1), (2, 2, "科室名称", 2, 1), (2, 3, "主动说明问题\n（情况）人数", 2, 1),
    (2, 4, "主动说明问题\n（情况）个数", 2, 1), (2, 5, "主动上交钱款（金额，单位：万元）／财物（数量）", 1, 2),
    (3, 5, "钱款（万元）", 1, 1), (3, 6, "财物（数量）", 1, 1),
]
OUTCOME_HEADER = [
    (2, 1, "整治工作项目", 2, 1), (2, 2, "科室类别（个数）", 1, 4), (2, 6, "处理人员（人数）", 1, 3),
    (2, 9, "四种形态运用（人数）", 1, 5), (2, 14, "行政处罚（人数）", 2, 1), (2, 15, "通报问题（个数）", 2, 1),
    (2, 16, "完善制度（个数）", 2, 1),
    (3, 2, "职能科室", 1, 1), (3, 3, "临床科室", 1, 1), (3, 4, "医技科室", 1, 1), (3, 5, "合计", 1, 1),
    (3, 6, "中层人员", 1, 1), (3, 7, "其他", 1, 1), (3, 8, "合计", 1, 1),
    (3, 9, "第一种形态", 1, 1), (3, 10, "第二种形态", 1, 1), (3, 11, "第三种形态", 1, 1), (3, 12, "第四种形态", 1, 1),
    (3, 13, "合计", 1, 1),
]
MONTHLY_HEADER = [
    (2, 1, "序号", 2, 1), (2, 2, "科室", 2, 1), (2, 3, "本月计划事项", 1, 3), (2, 6, "本月完成事项", 1, 2),
    (2, 8, "逾期未完成事项", 2, 1), (2, 9, "本科室月报", 2, 1),
    (3, 3, "应完成", 1, 1), (3, 4, "已完成", 1, 1), (3, 5, "完成率", 1, 1), (3, 6, "完成", 1, 1), (3, 7, "其中按期", 1, 1),
]


def _sheet(title: str, sheet: str, header: list, widths: list[int]):
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ncols = len(widths)
    ws.cell(1, 1, cell(title)).font = Font(bold=True, size=14)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    for row, col, text, rows, cols in header:
        ws.cell(row, col, text)
        if rows > 1 or cols > 1:
            ws.merge_cells(start_row=row, start_column=col, end_row=row + rows - 1, end_column=col + cols - 1)
    for r in (2, 3):
        for c in range(1, ncols + 1):
            head = ws.cell(r, c)
            head.font, head.border, head.alignment = Font(bold=True), _BOX, _CENTER
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.print_title_rows = "2:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return wb, ws


def _body(ws, values: list, *, total: bool = False) -> None:
    ws.append(cells(values))
    r = ws.max_row
    for c in range(1, len(values) + 1):
        one = ws.cell(r, c)
        one.border = _BOX
        one.alignment = Alignment(vertical="center", wrap_text=True,
                                  horizontal="left" if isinstance(one.value, str) and c > 1 else "center")
        if total:
            one.font = Font(bold=True)


def _total_row(ws, values: list, label_span: int) -> None:
    _body(ws, values, total=True)
    r = ws.max_row
    if label_span > 1:
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=label_span)
    ws.cell(r, 1).alignment = _CENTER


def _footer(ws, sign: Signature, cutoff: date, ncols: int, note: str = NOTE) -> bytes:
    ws.append([])
    third = max(1, ncols // 3)
    ws.append(cells([f"填报人：{sign.filled_by}"] + [None] * (third - 1) + [f"联系电话：{sign.phone}"]
                    + [None] * (third - 1) + [f"审核人：{sign.reviewer}"]))
    ws.append([note])
    ws.append([f"截至日期：{chinese_date(cutoff)}"])
    out = io.BytesIO()
    ws.parent.save(out)
    return out.getvalue()


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def disclosure_workbook(report: dict, *, title: str, sign: Signature, cutoff: date) -> bytes:
    """附件2: 序号, 科室名称, 人数, 个数, 钱款（万元） / 财物（数量）; 合计 over 序号 and 科室名称."""
    wb, ws = _sheet(title, "主动说明问题情况汇总表", DISCLOSURE_HEADER, [6, 18, 14, 14, 18, 14])
    for n, r in enumerate(report["rows"], start=1):
        _body(ws, [n, r["name"], r["people"], r["issues"], float(r["money"]), r["goods"]])
    t = report["total"]
    _total_row(ws, ["合计", None, t["people"], t["issues"], float(t["money"]), t["goods"]], 2)
    for row in ws.iter_rows(min_row=4, min_col=5, max_col=5):
        row[0].number_format = "0.00"
    return _footer(ws, sign, cutoff, 6)


def outcome_workbook(report: dict, *, title: str, sign: Signature, cutoff: date) -> bytes:
    """附件4: sixteen columns under the seed's two-level header."""
    wb, ws = _sheet(title, "专项整治情况汇总表", OUTCOME_HEADER, [28] + [8] * 15)
    for r in report["rows"]:
        _body(ws, outcome_values(r))
    _total_row(ws, outcome_values(dict(report["total"], item="合计")), 1)
    return _footer(ws, sign, cutoff, 16, OUTCOME_NOTE)


def outcome_values(r: dict) -> list:
    d, p, f = r["departments"], r["people"], r["forms"]
    return [r["item"], d["administrative"], d["clinical"], d["medical_technical"], d["total"],
            p["middle_manager"], p["other"], p["total"], f["first"], f["second"], f["third"], f["fourth"],
            f["total"], r["admin_penalty"], r["publicized"], r["rules"]]


def monthly_workbook(report: dict, *, title: str, sign: Signature, cutoff: date) -> bytes:
    """The monthly progress report: plan (due / done / rate), done (all / in time), overdue items, own report."""
    wb, ws = _sheet(title, "月度工作进展", MONTHLY_HEADER, [6, 16, 10, 10, 10, 10, 10, 48, 20])
    for n, r in enumerate(report["rows"], start=1):
        _body(ws, [n, r["name"], r["due"], r["due_done"], _pct(r["percent"]), r["done"], r["in_time"],
                   "；".join(f"{o['name']}（{o['due_on']}到期）" for o in r["overdue"]) or "无",
                   report_text(r["report"])])
    t = report["total"]
    _total_row(ws, ["合计", None, t["due"], t["due_done"], _pct(t["percent"]), t["done"], t["in_time"],
                    f"{t['overdue']}项", None], 2)
    note = "说明：本月计划事项为到期日在本月的专项整治任务；完成情况截至填报日期。"
    return _footer(ws, sign, cutoff, 9, note)


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


def report_text(report: dict) -> Words | str:
    """A department's own monthly report, in words (`Words`: the page says them in the reader's language)."""
    state = report["state"]
    if state == "submitted":
        return Words("已报送（%(on)s），逾期" if report.get("late") else "已报送（%(on)s）", on=report["on"])
    if state == "overdue":
        return Words("逾期未报（%(on)s到期）", on=report["on"])
    if state == "pending":
        return Words("未到期（%(on)s）", on=report["on"])
    return "—"
