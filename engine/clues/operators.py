"""Service-task operators and completion guards of the clue processes (added to an engine's registry
by `register`, called from the composition root, engine/bootstrap.py).

- `clue_months_after(date, months, shift)`: the date `months` calendar months after `date` (today in
  Beijing when None), e.g. the disposal opinion due one month after receipt, or the review date of a
  held clue (暂存待查). The periods themselves are parameters in the BPMN, not here. `shift` =
  "next_working_day" moves a day that is not a working day (a holiday, a weekend) to the next
  working day on the hospital's calendar, as Chinese administrative practice does for a time limit
  ending on a holiday (the triage's one month: 09-07 → 10-07, inside National Day → 10-08).
- guard `clue_reply_dates`: a written reply cannot arrive before the letter was sent, nor in the future.
- guard `clue_mode_dates`: 提级/交叉/联合办理's receipt and result come after the sending, not in the future.
- guard `clue_outcome_rules`: the four forms only for party members and public employees (seed 002
  附件4's notes, encoded once in `engine.clues.four_forms`).
"""
from __future__ import annotations

import calendar
from datetime import date

from engine.clues import four_forms
from engine.runtime import connectors
from engine.errors import Invalid, Problem
from engine.deadlines.due import hospital_calendar
from engine.deadlines.workdays import BEIJING


def add_months(day: date, months: int) -> date:
    """Same day `months` later, or that month's last day (31 January + 1 month = 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_after(ctx, date=None, months=1, shift=None) -> str:
    if shift not in (None, "next_working_day"):
        raise Invalid("顺延规则有误", [Problem("shift 只能为 next_working_day", field="shift")])
    try:
        start = _parse(date) if date else ctx.now.astimezone(BEIJING).date()
        n = int(months)
    except (TypeError, ValueError):
        raise Invalid("日期或月数有误", [Problem("日期格式应为 2026-09-28，月数须为整数", field="date")]) from None
    if not 0 < n <= 120:
        raise Invalid("月数超出范围", [Problem("月数须在 1–120 之间", field="months")])
    due = add_months(start, n)
    if shift == "next_working_day":
        due = hospital_calendar(ctx.conn).next_working_day(due)
    return due.isoformat()


def _parse(value) -> date:
    from datetime import date as _date
    return _date.fromisoformat(str(value)[:10])


def reply_dates(ctx) -> None:
    received = ctx.submitted.get("reply_received_on")
    sent = ctx.data.get("letter_sent_on")
    if not received:
        return
    problems = []
    if sent and str(received) < str(sent):
        problems.append(Problem("回复收到日期不能早于函件发出日期", field="reply_received_on"))
    signed = ctx.data.get("letter_received_on")
    if signed and str(received) < str(signed):
        problems.append(Problem("回复收到日期不能早于被函询人签收日期", field="reply_received_on"))
    if str(received) > ctx.now.astimezone(BEIJING).date().isoformat():
        problems.append(Problem("回复收到日期不能晚于今天", field="reply_received_on"))
    if problems:
        raise Invalid("回复日期有误", problems)


def mode_dates(ctx) -> None:
    """提级/交叉/联合办理: a receipt or result cannot come before the clue was sent, nor in the future."""
    today = ctx.now.astimezone(BEIJING).date().isoformat()
    sent = ctx.data.get("mode_sent_on")
    problems = []
    for name in ("mode_sent_on", "mode_receipt_on", "mode_result_on"):
        value = ctx.submitted.get(name)
        if not value:
            continue
        if str(value) > today:
            problems.append(Problem("日期不能晚于今天", field=name))
        elif name != "mode_sent_on" and sent and str(value) < str(sent):
            problems.append(Problem("日期不能早于报送（移交）日期", field=name))
    if problems:
        raise Invalid("日期有误", problems)


def outcome_rules(ctx) -> None:
    found = four_forms.problems(ctx.data.get("party_member"), ctx.data.get("public_employee"),
                                ctx.submitted.get("discipline_form"), ctx.submitted.get("admin_penalty"))
    if found:
        raise Invalid("处理结果有误", found)


def register(registry: connectors.Connectors) -> None:
    """Add this domain's operators and guards, by the names its BPMN uses (see engine.bootstrap)."""
    registry.add_service("clue_months_after", months_after)
    registry.add_guard("clue_reply_dates", reply_dates)
    registry.add_guard("clue_outcome_rules", outcome_rules)
    registry.add_guard("clue_mode_dates", mode_dates)
