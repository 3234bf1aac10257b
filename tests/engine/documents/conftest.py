"""The demo scenario (`make run`'s hospital, campaign, monthly report and clues) for document tests."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.config import Settings
from engine.db.schema import process_instance
from engine.demo import hospital
from tests.helpers.snapshots import SNAPSHOTS


@pytest.fixture
def demo(engine):
    """The demo loaded; its instances by what they are (played once per test process and dialect, then
    restored: tests/helpers/snapshots.py)."""
    return SNAPSHOTS.once(("demo",), engine.db, lambda: _play(engine), clock=engine.clock, ids=engine.ids)


def _play(engine) -> dict:
    settings = Settings.from_env()
    hospital.load(engine, settings)
    with engine.db.connect() as conn:
        rows = conn.execute(sa.select(process_instance.c.id, process_instance.c.process_key,
                                      process_instance.c.business_key)).all()
    clues = [r.id for r in rows if r.process_key == "clue"]
    waiting = next(i for i in clues if engine.show(i).data.get("person_name") == "李建国")
    disclosure = engine.start("campaign_disclosure", started_by="neike_head", data={
        "issues": "2025年收受医药代表购物卡一张", "money": 0.2, "goods_count": 1, "goods_description": "购物卡"})
    opinion = engine.start("integrity_opinion", started_by="jijian", data={
        "person": "neike_nurse1", "requested_by": "医院党委", "request_no": "院党委〔2026〕3号", "purpose": "award"}).id
    for element, data in (("check", {"findings": "档案中无问题线索", "pending_clue": False}),
                          ("reply", {"conclusion": "no_problem", "opinion": "同意", "replied_on": "2026-09-28"})):
        [task] = [t for t in engine.show(opinion).tasks if t.element_id == element]
        engine.complete_task(task.id, user="jijian", data=data)
    return {"settings": settings, "clue": waiting, "opinion": opinion,
            "campaign": next(r.id for r in rows if r.process_key == "campaign"),
            "monthly_report": next(r.id for r in rows if r.process_key in ("monthly_report", "campaign_monthly_report")
                                   and engine.show(r.id).data.get("department") == "neike"),      # 内科's
            "disclosure": disclosure.id}
