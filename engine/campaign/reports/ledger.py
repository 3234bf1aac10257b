"""附件3 问题线索台帐 for a campaign: the rows of the one clue ledger (`engine.clues_ledger`) that
belong to it up to the cut-off.

A clue belongs to the campaign when it was received between the campaign's start and the cut-off,
when the campaign's clue backlog review (问题线索起底) took it up, or when its outcome names the
campaign (by 文号, name or id). Clues received after the cut-off are left out;
each row shows the clue as it stood at the cut-off (`clue_rows(as_of=...)`): its stage, overdue
marks and 处置方式及结果 as recorded by then.
"""
from __future__ import annotations

from datetime import date, datetime

from engine.campaign.matrix import milestones
from engine.clues.ledger import clue_rows
from engine.campaign.reports.common import CampaignRef, cutoff_instant


def campaign_clues(conn, camp: CampaignRef, cutoff: date, now: datetime, viewer=None) -> list[dict]:
    """The ledger rows of the campaign's clues received up to `cutoff`, oldest first (without those
    `viewer` is recused from)."""
    until = min(now, cutoff_instant(cutoff))
    linked = {c["instance_id"] for m in milestones(conn, camp.id, "clue_backlog") if m["at"] < until
              for c in m.get("clues") or []}
    refs = camp.refs()
    start, last = camp.started_on.isoformat(), cutoff.isoformat()
    rows = []
    for row in clue_rows(conn, until, as_of=until, viewer=viewer):
        if row["received_on"] > last:
            continue
        if row["instance_id"] in linked or row["received_on"] >= start or (row.get("campaign") or "") in refs:
            rows.append(row)
    return rows
