"""What every report shares: the cut-off, the signature line and the campaign a report is about."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from engine.campaign.operators import CAMPAIGN, launch_data
from engine.errors import Invalid, NotFound, Problem
from engine.db.schema import process_instance
from engine.deadlines.workdays import BEIJING


@dataclass(frozen=True)
class Signature:
    """填报人 / 联系电话 / 审核人 and the cut-off day (截至日期: "as of", not 截止 "deadline") printed under every report."""
    filled_by: str = ""
    phone: str = ""
    reviewer: str = ""


def cutoff_instant(day: date) -> datetime:
    """The end of `day` in Beijing (24:00): everything up to and including that day counts."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING)


def parse_cutoff(raw: str | None, today: date) -> date:
    """The cut-off day from a request (`2026-10-31`), today when blank; `Invalid` names the field."""
    raw = (raw or "").strip()
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid("截至日期有误", [Problem("截至日期格式应为 2026-10-31", field="cutoff")]) from None


@dataclass(frozen=True)
class CampaignRef:
    id: str
    name: str
    doc_no: str
    started_on: date
    started_at: datetime
    launch: dict

    def refs(self) -> set[str]:
        """What a clue's outcome may name the campaign by: its id, 文号 or name."""
        return {v for v in (self.id, self.doc_no, self.name) if v}


def campaign_ref(conn, campaign_id: str) -> CampaignRef:
    row = conn.execute(sa.select(process_instance.c.started_at).where(
        process_instance.c.id == campaign_id, process_instance.c.process_key == CAMPAIGN)).one_or_none()
    if row is None:
        raise NotFound(f"找不到专项整治 {campaign_id}")
    launch = launch_data(conn, campaign_id)
    return CampaignRef(campaign_id, launch.get("name") or "", launch.get("doc_no") or "",
                       row.started_at.astimezone(BEIJING).date(), row.started_at, launch)
