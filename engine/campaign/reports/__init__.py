"""The campaign's reports upward, computed from what happened (no table of their own).

- `disclosures`: 附件2 主动说明问题情况汇总表;
- `ledger`: 附件3 问题线索台帐 (the clue ledger of `engine.clues_ledger`, restricted to the campaign);
- `outcomes`: 附件4 专项整治情况汇总表;
- `monthly`: the monthly progress report (月报) per department;
- `dashboard`: the figures behind the dashboard's charts;
- `workbooks`: the Excel files in the seeds' layouts.

Every report is cumulative from the campaign's start to a cut-off day (through 24:00 Beijing time
of that day), and carries who filled it in (`Signature`).
"""
