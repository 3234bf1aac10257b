"""The report pages' read models: each report, the dashboard's figures and the list behind its
overdue chart, each read in one transaction for the campaign asked about (`NotFound` if none).

The cut-off comes as typed; its problems come back as `Problem`s (field `cutoff`) and the report is
then computed up to today, so that a page shows both. A cut-off before the campaign's start has the
code `before_start`, for the page to say in the reader's language.
"""
from __future__ import annotations

from engine.campaign.reports import dashboard as figures
from engine.campaign.reports.common import campaign_ref, cutoff_instant, parse_cutoff
from engine.campaign.reports.disclosures import disclosures
from engine.campaign.reports.ledger import campaign_clues
from engine.campaign.reports.monthly import monthly
from engine.campaign.reports.outcomes import outcomes
from engine.db.transactions import read_transaction
from engine.deadlines.workdays import BEIJING
from engine.errors import Invalid, Problem
from engine.org.hospital import hospital_name

KINDS = ("disclosures", "ledger", "outcomes", "monthly")


def _compute(conn, kind: str, camp, cutoff, now, departments, viewer):
    if kind == "disclosures":
        return disclosures(conn, camp.id, min(now, cutoff_instant(cutoff)))
    if kind == "ledger":
        return {"rows": campaign_clues(conn, camp, cutoff, now, viewer)}
    if kind == "outcomes":
        return outcomes(conn, camp, cutoff, now, viewer)
    return monthly(conn, camp, cutoff, now, departments)


def report(eng, campaign_id: str, kind: str, cutoff: str | None, departments: set | None = None,
           viewer=None) -> dict:
    """One report of a campaign up to the cut-off day: `camp`, `cutoff`, `problems` and `report`.
    `departments` limits the monthly report to those (a department head's); None is every one.
    `viewer`: the clues they are recused from (回避) are neither listed nor counted."""
    if kind not in KINDS:
        raise Invalid(f"没有这种报表：{kind}", field="kind")
    now = eng.clock.now()
    today = now.astimezone(BEIJING).date()
    problems: list[Problem] = []
    with read_transaction(eng.db) as conn:
        camp = campaign_ref(conn, campaign_id)
        try:
            day = parse_cutoff(cutoff, today)
        except Invalid as exc:
            problems += exc.problems
            day = today
        else:
            if day < camp.started_on:
                problems.append(Problem("截至日期不能早于专项整治开始", field="cutoff", code="before_start"))
                day = today
        return {"camp": camp, "cutoff": day, "problems": problems, "heading": heading(conn, camp),
                "report": _compute(conn, kind, camp, day, now, departments, viewer)}


def heading(conn, camp) -> str:
    """What a report's title starts with: the hospital's name, then the campaign's (seed 002:
    "绍兴市上虞第二人民医院" + "腐败问题专项整治" + "情况汇总表"), the name once if the campaign's has it."""
    hospital = hospital_name(conn)
    return camp.name if not hospital or camp.name.startswith(hospital) else hospital + camp.name


def campaign(eng, campaign_id: str):
    """The campaign a report page is about (`CampaignRef`)."""
    with read_transaction(eng.db) as conn:
        return campaign_ref(conn, campaign_id)


def dashboard(eng, campaign_id: str, *, campaign_figures: bool, clue_figures: bool, viewer=None) -> dict:
    """The dashboard's figures: the campaign's (progress, overdue) and the clues' (every clue), as asked."""
    now = eng.clock.now()
    out = {}
    with read_transaction(eng.db) as conn:
        campaign_ref(conn, campaign_id)
        if campaign_figures:
            out.update(figures.campaign_figures(conn, campaign_id, now))
        if clue_figures:
            out["clues"] = figures.clue_figures(conn, now, viewer=viewer)
    return out


def overdue(eng, campaign_id: str, department_code: str | None = None) -> dict:
    """The campaign (`camp`) and its open tasks past due (`tasks`), for one department or all."""
    with read_transaction(eng.db) as conn:
        camp = campaign_ref(conn, campaign_id)
        return {"camp": camp, "tasks": figures.overdue_tasks(conn, campaign_id, eng.clock.now(), department_code)}
