"""主动说明问题 recorded by the office — seed 002 (第二阶段 3.主动说明问题): "需要向组织主动说明问题的，应于
8月30日前向医院纪委报告，准确把握主动说明问题的认定口径，精准运用监督执纪"四种形态"，对于确属主动投案说明问题的，
依规依纪依法适用从宽政策".

A paper or in-person disclosure is recorded by the discipline office for the real person on the real
day; the office records 认定, the lenient treatment and the form applied, which count in 附件4. The
campaign here is the report scenario's (disclosure deadline 23 October 2026; today 10 December).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.campaign.reports.outcomes import outcomes
from engine.campaign.reports import disclosures as annex2
from engine.campaign.reports.common import campaign_ref
from engine.errors import Invalid
from engine.records import persons
from tests.engine.campaign.reports_scenario import ITEM_A, scenario, vault  # noqa: F401  (fixture)

pytestmark = [pytest.mark.real_forms, pytest.mark.both_databases]


def disclose(engine, user, **data):
    return engine.start("campaign_disclosure", started_by=user, data={
        "issues": [{"summary": "接受医药代表宴请", "detail": None}], **data})


def register(engine, iid, **data):
    [task] = [t for t in engine.show(iid).tasks if t.element_id == "register"]
    engine.complete_task(task.id, user="jijian", data={"received": True, "handling": "批评教育", **data})
    engine.clock.set(engine.clock.now() + timedelta(minutes=5))     # a report counts what was done before now


def annex4_row(engine, campaign, item):
    from datetime import date
    with engine.db.connect() as conn:
        camp = campaign_ref(conn, campaign)
        rows = outcomes(conn, camp, date(2026, 12, 10), engine.clock.now())["rows"]
    return next(r for r in rows if r["item"] == item)


def annex2_rows(engine, campaign, cutoff_day):
    from datetime import date
    from engine.campaign.reports.common import cutoff_instant
    with engine.db.connect() as conn:
        return {r["name"]: r for r in annex2.disclosures(conn, campaign, cutoff_instant(date.fromisoformat(cutoff_day)))["rows"]}


def test_the_office_records_a_paper_disclosure_for_the_surgeon_on_the_day_he_made_it(engine, scenario):
    """He handed a written statement in on 22 October (before the 23 October deadline); the office enters
    it on 10 December: it is his, on time, and in his file."""
    iid = disclose(engine, "jijian", person="surgeon", disclosed_on="2026-10-22").id
    data = engine.show(iid).data
    assert data["on_time"] is True
    assert data["campaign"]["discloser"] == {"username": "surgeon", "name": "赵医生", "department": "waike"}
    assert data["campaign"]["recorded_by"] == "jijian"
    with engine.db.connect() as conn:
        mine = persons.disclosures(conn, "surgeon")
    assert [(d["disclosed_on"], d["on_time"]) for d in mine] == [("2026-10-26", False), ("2026-10-22", True)]


def test_staff_cannot_record_for_someone_else_or_backdate(engine, scenario):
    with pytest.raises(Invalid) as refused:
        disclose(engine, "nurse2", person="nurse")
    assert refused.value.problems[0].field == "person"
    with pytest.raises(Invalid) as refused:
        disclose(engine, "nurse2", disclosed_on="2026-10-01")
    assert refused.value.problems[0].field == "disclosed_on"
    with pytest.raises(Invalid) as refused:
        disclose(engine, "jijian", person="surgeon", disclosed_on="2026-12-11")
    assert refused.value.problems[0].message == "说明日期不能晚于今天"


def test_a_qualifying_disclosure_with_a_form_applied_counts_in_annex_4(engine, scenario):
    """认定 + 第一种形态 for 王护士's disclosure: item A gains a person of 内科 (其他) in the first form."""
    before = annex4_row(engine, scenario.campaign, ITEM_A)
    register(engine, scenario.disclosures["nurse"], qualifies=True, lenient="exempted", discipline_form="first",
             campaign_item=ITEM_A)
    after = annex4_row(engine, scenario.campaign, ITEM_A)
    assert after["forms"]["first"] == before["forms"]["first"] + 1
    assert after["people"]["other"] == before["people"]["other"] + 1
    # not qualifying (未认定): counts in no form
    register(engine, scenario.disclosures["nurse2"], qualifies=False, discipline_form="second", campaign_item=ITEM_A)
    assert annex4_row(engine, scenario.campaign, ITEM_A)["forms"]["second"] == before["forms"]["second"]


def test_with_two_campaigns_running_the_discloser_names_the_one_it_belongs_to(engine, scenario):
    second = engine.start("campaign", started_by="jijian", business_key="清廉〔2026〕15号", data={
        "name": "医疗领域不正之风专项治理", "doc_no": "清廉〔2026〕15号", "departments": ["neike"],
        "mobilization_deadline": "2026-12-18", "selfcheck_deadline": "2027-01-15",
        "rectification_deadline": "2027-02-26", "consolidation_deadline": "2027-03-31",
        "disclosure_deadline": "2026-12-31", "report_day": 12,
        "leadership": [{"person": "leader", "duty": "组长"}], "task_force": [{"person": "jijian", "duty": "组长"}],
        "focus_areas": [{"area": "不合理检查"}]}).id
    with pytest.raises(Invalid) as refused:
        disclose(engine, "nurse2")
    [problem] = refused.value.problems
    assert problem.field == "campaign_ref" and "清廉〔2026〕15号" in problem.message and "2 项" in problem.message
    iid = disclose(engine, "nurse2", campaign_ref="清廉〔2026〕15号").id
    assert engine.show(iid).data["campaign"]["id"] == second
    assert engine.show(iid).data["on_time"] is True


def test_outside_any_campaign_the_office_still_records_a_disclosure(engine, people, shipped):
    """No campaign runs: a staff member is told so; the office records one, which belongs to none."""
    with pytest.raises(Invalid) as refused:
        disclose(engine, "nurse")
    assert refused.value.problems[0].code == "no_campaign"
    iid = disclose(engine, "jijian", person="nurse", disclosed_on=engine.clock.now().date().isoformat()).id
    data = engine.show(iid).data
    assert data["campaign"]["id"] is None and data["on_time"] is False
    with engine.db.connect() as conn:
        [d] = persons.disclosures(conn, "nurse")
    assert d["in_campaign"] is False


def test_annex_2_counts_an_office_recorded_disclosure_for_the_discloser_from_the_day_it_was_made(engine, scenario):
    """Recorded on 10 December for 20 November: in 外科's row as of 10 December, with one person more."""
    before = annex2_rows(engine, scenario.campaign, "2026-12-10")["外科"]
    disclose(engine, "jijian", person="surgeon", disclosed_on="2026-11-20")
    after = annex2_rows(engine, scenario.campaign, "2026-12-10")["外科"]
    assert (after["issues"], after["people"]) == (before["issues"] + 1, before["people"])   # 赵医生 already counted
    disclose(engine, "jijian", person="waike_head", disclosed_on="2026-11-20")
    assert annex2_rows(engine, scenario.campaign, "2026-12-10")["外科"]["people"] == before["people"] + 1
