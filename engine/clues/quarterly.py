"""The quarterly statistics the office reports to the higher commission (季度统计): the clues received
in the quarter, by source and by disposal route, the forms of discipline applied, administrative
penalties, and the feedback to real-name reporters — counted from the one ledger, as the person
asking may see it (回避: clues they are kept out of are not counted), with an Excel workbook.

口径: the clues received (受理) in the quarter, each as it stands at the end of the quarter (or now,
for the running quarter).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from engine.clues import four_forms, intake, ledger
from engine.db.transactions import read_transaction
from engine.deadlines.workdays import BEIJING
from engine.errors import Invalid, Problem
from engine.org.people import Principal
from engine.text import cell, cells


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        following = date(self.year + (self.number == 4), 1 if self.number == 4 else 3 * self.number + 1, 1)
        return following - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.number}季度"

    @classmethod
    def parse(cls, args, today: date) -> "Quarter":
        """From `year` and `quarter` arguments (default: the current quarter); `Invalid` naming the field."""
        problems, values = [], {}
        for name, default, low, high in (("year", today.year, 2000, 2100), ("quarter", (today.month - 1) // 3 + 1, 1, 4)):
            raw = (args.get(name) or "").strip()
            try:
                values[name] = int(raw) if raw else default
            except ValueError:
                problems.append(Problem(f"{name} 须为整数", field=name))
                continue
            if not low <= values[name] <= high:
                problems.append(Problem(f"{name} 须在 {low}–{high} 之间", field=name))
        if problems:
            raise Invalid("统计期间有误", problems)
        return cls(values["year"], values["quarter"])


def statistics(rows: list[dict], quarter: Quarter) -> dict:
    """The quarter's figures from ledger rows."""
    first, last = quarter.first_day.isoformat(), quarter.last_day.isoformat()
    received = [r for r in rows if first <= r["received_on"] <= last]
    # where each handling counts: seed 002 附件4's rule, once (engine.clues.four_forms)
    handled = [four_forms.counted(r["party_member"], r["public_employee"], r["discipline_form"], r["admin_penalty"])
               for r in received]
    return {
        "quarter": quarter,
        "received": len(received),
        "by_source": {name: sum(1 for r in received if r["source"] == code) for code, name in intake.SOURCES.items()},
        "by_disposal": {name: sum(1 for r in received if r["disposal"] == code)
                        for code, name in ledger.DISPOSALS.items()},
        "undecided": sum(1 for r in received if not r["disposal"]),
        "closed": sum(1 for r in received if r["status"] == "closed"),
        "forms": {name: sum(1 for r in handled if r.form == code)
                  for code, name in ledger.FORMS.items() if code != "none"},
        "admin_penalty": sum(1 for r in handled if r.admin_penalty),
        "reported_back": sum(1 for r in received if r["reported_back_on"]),
        "assigned": sum(1 for r in received if r["source"] == "assigned"),
        "feedback": ledger.feedback_rate(received),
    }


def report(engine, viewer: Principal, args) -> dict:
    """The quarter asked for (`Invalid` if the period is wrong) and its figures, in one read."""
    now = engine.clock.now()
    quarter = Quarter.parse(args, now.astimezone(BEIJING).date())
    end = datetime.combine(quarter.last_day + timedelta(days=1), time(), BEIJING)
    with read_transaction(engine.db) as conn:
        rows = ledger.clue_rows(conn, min(now, end), as_of=end if end < now else None, viewer=viewer)
    return statistics(rows, quarter)


def workbook(figures: dict, *, filled_by: str) -> bytes:
    """The figures as a two-column workbook, every cell through `engine.text.cell`."""
    wb = Workbook()
    ws = wb.active
    ws.title = "季度统计"
    ws.append([cell(f"问题线索处置情况季度统计（{figures['quarter'].label}）")])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(cells(["项目", "数量"]))
    rows = [("本季度受理线索", figures["received"])]
    rows += [(f"来源：{name}", n) for name, n in figures["by_source"].items()]
    rows += [(f"处置方式：{name}", n) for name, n in figures["by_disposal"].items()]
    rows += [("尚未研判", figures["undecided"]), ("已办结", figures["closed"])]
    rows += [(f"运用“四种形态”：{name}", n) for name, n in figures["forms"].items()]
    rows += [("行政处罚（非党员、非公职人员）", figures["admin_penalty"])]
    rows += [("上级交办", figures["assigned"]), ("已向上级报告结果", figures["reported_back"])]
    fb = figures["feedback"]
    rows += [("实名举报", fb["real_name"]), ("已受理告知", fb["accepted"]),
             ("应告知结果", fb["with_result"]), ("已告知结果", fb["told"]),
             ("结果告知率", f"{fb['told_pct']}%" if fb["told_pct"] is not None else "—")]
    for label, value in rows:
        ws.append(cells([label, value]))
        ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=True)
    ws.append([])
    ws.append(cells([f"填报人：{filled_by}"]))
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 40, 14
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
