"""红包上缴登记, seed 000 (医疗卫生行业作风建设, 第九条): "对不知情或不可抗"红包"应当建立上缴登记制度" —
a standing register outside any campaign, whose money and goods count in 附件2 while a campaign runs."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine.campaign.reports import pages as report_pages
from engine.errors import Invalid
from engine.records import gifts
from tests.engine.campaign.reports_scenario import scenario, vault  # noqa: F401  (fixture)

pytestmark = [pytest.mark.real_forms, pytest.mark.both_databases]


def hand_in(engine, user: str, **data):
    return engine.start("gift_handin", started_by=user, data={
        "received_on": "2026-12-09", "giver_kind": "family", "how": "office", **data})


def register(engine, iid: str, receipt: str):
    [task] = [t for t in engine.show(iid).tasks if t.element_id == "register"]
    engine.complete_task(task.id, user="jijian", data={"receipt_no": receipt, "checked": True})


def test_a_nurse_hands_in_a_red_envelope_and_the_office_registers_it_with_a_receipt(engine, scenario):
    iid = hand_in(engine, "nurse", giver="患者家属王某", amount=2000, note="出院时塞在果篮中，事后发现").id
    page = gifts.register_page(engine, year=2026)
    [entry] = page["entries"]
    assert (entry["name"], entry["department"], entry["amount"], entry["registered"]) == ("王护士", "neike",
                                                                                        Decimal("2000"), False)
    assert page["total"]["pending"] == 1
    register(engine, iid, "JJ-2026-001")
    [entry] = gifts.register_page(engine, year=2026)["entries"]
    assert entry["registered"] and entry["receipt_no"] == "JJ-2026-001"
    assert page["labels"]["giver_kind"]["family"] == "患者家属" and page["labels"]["how"]["office"] == "交纪检监察室"
    assert gifts.register_page(engine, year=2025)["entries"] == []


def test_only_the_office_registers_for_someone_else(engine, scenario):
    with pytest.raises(Invalid) as refused:
        hand_in(engine, "nurse", person="surgeon", amount=500)
    assert refused.value.problems[0].field == "person"
    assert gifts.register_page(engine)["entries"] == []          # nothing half-written
    iid = hand_in(engine, "jijian", person="surgeon", goods="购物卡", goods_count=2).id
    [entry] = gifts.register_page(engine)["entries"]
    assert (entry["username"], entry["department"], entry["recorded_by"]) == ("surgeon", "waike", "jijian")
    register(engine, iid, "JJ-2026-002")


def test_what_was_handed_in_during_the_campaign_counts_in_annex_2(engine, scenario):
    """附件2's column 主动上交钱款（金额，单位：万元）／财物（数量）: 2,000 yuan is 0.20 万元 for 内科;
    the 2 items handed in by the surgeon count for 外科; no person and no issue are added."""
    before = report_pages.report(engine, scenario.campaign, "disclosures", "2026-12-10")["report"]
    hand_in(engine, "nurse", amount=2000)
    hand_in(engine, "jijian", person="surgeon", goods="购物卡", goods_count=2)
    engine.clock.set(engine.clock.now() + timedelta(hours=1))
    after = report_pages.report(engine, scenario.campaign, "disclosures", "2026-12-10")["report"]
    rows = {r["name"]: r for r in after["rows"]}
    old = {r["name"]: r for r in before["rows"]}
    assert Decimal(rows["内科"]["money"]) - Decimal(old["内科"]["money"]) == Decimal("0.20")
    assert rows["外科"]["goods"] - old["外科"]["goods"] == 2
    assert (after["total"]["people"], after["total"]["issues"]) == (before["total"]["people"], before["total"]["issues"])
    earlier = report_pages.report(engine, scenario.campaign, "disclosures", "2026-12-09")["report"]
    assert earlier["total"]["money"] == before["total"]["money"]   # handed in on the 10th: not by the 9th


def test_the_register_exports_user_text_as_text(engine, scenario):
    from io import BytesIO
    from openpyxl import load_workbook
    hand_in(engine, "nurse", giver="=HYPERLINK(\"http://x\")", amount=100)
    book = load_workbook(BytesIO(gifts.register_workbook(gifts.register_page(engine), "清廉示范医院红包上缴登记表")))
    ws = book.active
    assert ws["A1"].value == "清廉示范医院红包上缴登记表" and ws["B2"].value == "上缴人"
    assert not str(ws["F3"].value).startswith("=")
    assert ws["G4"].value == 100                                  # the total row
