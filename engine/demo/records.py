"""Demo 医德考评 for `make run`: 内科's head scored the department's last two quarters, so 医德考评 and
each 内科 member's 廉政档案 have something to show. Loading again changes nothing."""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import conduct_score
from engine.db.transactions import write_transaction
from engine.deadlines.workdays import BEIJING
from engine.org.people import principal
from engine.records import conduct

# username -> the items of the earlier and the later quarter
SCORES = {
    "neike_doctor1": ([("plus", "2", "患者赠送锦旗")], []),
    "neike_doctor2": ([], [("minus", "3", "病历书写不规范")]),
    "neike_nurse1": ([("plus", "1", "拒收患者家属红包并上缴")], [("plus", "0.5", "带教实习护士")]),
    "neike_nurse2": ([("minus", "5", "服务态度被投诉")], []),
}


def load(engine) -> int:
    """The scores of the two quarters before today's (none when any score exists already)."""
    today = engine.clock.now().astimezone(BEIJING).date()
    quarter = (today.month - 1) // 3 + 1
    periods = [(today.year, quarter - 2), (today.year, quarter - 1)]
    periods = [(y - 1, q + 4) if q < 1 else (y, q) for y, q in periods]
    with write_transaction(engine.db) as conn:
        if conn.execute(sa.select(conduct_score.c.id).limit(1)).first() is not None:
            return 0
        head = principal(conn, "neike_head")
        if head is None:
            return 0
        n = 0
        for username, quarters in SCORES.items():
            for (year, q), items in zip(periods, quarters):
                entry = {"year": year, "quarter": q, "veto": False, "veto_reason": None,
                         "items": [{"kind": k, "points": p, "reason": r} for k, p, r in items]}
                conduct.save_quarter(conn, head, username, entry, engine.clock.now())
                n += 1
    return n
