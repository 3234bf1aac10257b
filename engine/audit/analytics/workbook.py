"""The figures of a process version as an .xlsx workbook: steps, departments, variants. Every text
cell goes through `engine.text.cell` (a name a spreadsheet would take for a formula stays text);
durations in hours. The labels come from the page, in the reader's language."""
from __future__ import annotations

import io


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def build(page: dict, labels: dict, title: str) -> bytes:
    """`page`: `service.page`'s answer; `labels`: the sheet names and column headings (keys as below),
    and `step_name`/`department_name` functions naming an element or a department."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from engine.text import cell, cells
    f = page["figures"]
    wb = Workbook()
    steps = wb.active
    steps.title = labels["steps_sheet"]
    steps.append([cell(title)])
    steps["A1"].font = Font(bold=True, size=14)
    steps.append(cells(labels["steps_header"]))
    for element, s in sorted(f["steps"].items(), key=lambda kv: -kv[1]["completed"]):
        steps.append([cell(labels["step_name"](element)), cell(element), s["completed"],
                      _hours(s["cycle"]["median"]), _hours(s["cycle"]["p90"]), _hours(s["cycle"]["mean"]),
                      _hours(s["wait"]["median"]), _hours(s["wait"]["mean"]),
                      _hours(s["work"]["median"]), _hours(s["work"]["mean"]),
                      s["with_due"], s["overdue"], _percent(s["overdue_rate"])])
    depts = wb.create_sheet(labels["departments_sheet"])
    depts.append(cells(labels["departments_header"]))
    for code, d in sorted(f["departments"].items()):
        depts.append([cell(labels["department_name"](code)), d["completed"], d["with_due"], d["overdue"],
                      _percent(d["overdue_rate"])])
    depts.append([])
    depts.append(cells(labels["step_departments_header"]))
    for (element, code), d in f["step_departments"].items():
        depts.append([cell(labels["step_name"](element)), cell(labels["department_name"](code)), d["completed"],
                      d["with_due"], d["overdue"], _percent(d["overdue_rate"])])
    variants = wb.create_sheet(labels["variants_sheet"])
    variants.append(cells(labels["variants_header"]))
    for i, v in enumerate(f["variants"], start=1):
        variants.append([i, cell(" → ".join(labels["step_name"](s) for s in v["steps"]) or labels["no_steps"]),
                         len(v["steps"]), v["n"], _percent(v["share"])])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
