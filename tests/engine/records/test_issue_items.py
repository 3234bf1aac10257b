"""问题清单, 销号管理 outside inspections. Seed 004: "对查摆出的问题，要建立问题清单，实行销号管理";
seed 002 names the other sources: "巡视巡察、审计、专项检查…反馈的问题". Each problem becomes an issue
item that its department rectifies with evidence and the office closes out (销号) item by item."""
from __future__ import annotations

import pytest

from engine.errors import Invalid
from engine.records import issues

pytestmark = [pytest.mark.real_forms, pytest.mark.both_databases]


@pytest.fixture
def deployed(engine, people, shipped):
    return engine


def enter(engine, user: str, **data):
    return engine.start("campaign_issue_item", started_by=user, data={
        "source": "patrol", "source_ref": "区委第二巡察组反馈意见", "department": "neike",
        "problem": "药品耗材采购台账不全", "measure": "补齐台账，建立月度核对制度", "deadline_days": 10, **data})


def task(engine, iid: str, element: str) -> dict:
    [t] = [t for t in engine.show(iid).tasks if t.element_id == element]
    return t


def test_a_patrol_finding_is_rectified_by_its_department_and_closed_out_by_the_office(deployed):
    engine = deployed
    iid = enter(engine, "jijian").id
    rectify = task(engine, iid, "rectify")
    assert rectify.candidate_department == "neike" and rectify.due_at is not None
    [row] = issues.register_page(engine)["items"]
    assert (row["source"], row["status"], row["department_name"]) == ("patrol", "rectifying", "内科")
    engine.claim(rectify.id, user="neike_head")
    engine.complete_task(rectify.id, user="neike_head", data={
        "done": "已补齐台账", "evidence": [], "completed_on": "2026-12-01"})
    assert issues.register_page(engine)["items"][0]["status"] == "verifying"
    engine.complete_task(task(engine, iid, "verify").id, user="jijian", data={"verdict": "close",
                                                                                 "verify_comment": "核验属实"})
    [row] = issues.register_page(engine)["items"]
    assert row["status"] == "closed_out" and row["closed_at"] is not None
    assert issues.register_page(engine, status="open")["items"] == []


def test_a_department_head_enters_the_own_self_inspection_findings_only(deployed):
    engine = deployed
    enter(engine, "neike_head", source="self_inspection", source_ref="内科自查")
    with pytest.raises(Invalid) as refused:
        enter(engine, "neike_head", department="waike", source="self_inspection")
    assert refused.value.problems[0].field == "department"
    assert [r["department"] for r in issues.register_page(engine)["items"]] == ["neike"]
    assert [r["department"] for r in issues.register_page(engine, departments={"waike"})["items"]] == []


def test_a_patrols_feedback_is_listed_problem_by_problem_with_its_source(deployed):
    """Seed 002: "全面梳理…接受上级巡视巡察、督办督导、审计、专项检查等反馈问题的整改落实情况，查漏补缺、
    逐项销号" — one feedback of three problems becomes three items, each with the feedback as its source,
    each rectified and closed out on its own."""
    engine = deployed
    feedback = {"source": "patrol", "source_ref": "院党委第二巡察组反馈意见", "items": [
        {"department": "neike", "problem": "处方点评未常态化", "measure": "每月处方点评", "deadline_days": 10},
        {"department": "waike", "problem": "高值耗材使用登记缺失", "measure": "建立使用登记", "deadline_days": 5},
        {"department": "neike", "problem": "廉洁谈话记录不全", "measure": "补齐谈话记录", "deadline_days": 5}]}
    engine.start("issue_list_entry", started_by="jijian", data=feedback)
    rows = {r["problem"]: r for r in issues.register_page(engine)["items"]}
    assert sorted((r["source"], r["source_ref"], r["department"], p, r["status"]) for p, r in rows.items()) == [
        ("patrol", "院党委第二巡察组反馈意见", "neike", "处方点评未常态化", "rectifying"),
        ("patrol", "院党委第二巡察组反馈意见", "neike", "廉洁谈话记录不全", "rectifying"),
        ("patrol", "院党委第二巡察组反馈意见", "waike", "高值耗材使用登记缺失", "rectifying")]
    first = rows["处方点评未常态化"]["id"]
    engine.complete_task(task(engine, first, "rectify").id, user="neike_head", data={
        "done": "已开展处方点评", "evidence": [], "completed_on": "2026-10-09"})
    engine.complete_task(task(engine, first, "verify").id, user="jijian", data={"verdict": "close"})
    assert {r["problem"]: r["status"] for r in issues.register_page(engine)["items"]} == {
        "处方点评未常态化": "closed_out", "高值耗材使用登记缺失": "rectifying", "廉洁谈话记录不全": "rectifying"}


def test_a_department_head_lists_a_feedbacks_problems_of_the_own_department_only(deployed):
    """Seed 002: a head lists the problems of a feedback that concern the departments they head; a row
    for another department is refused on that row, and nothing is listed."""
    engine = deployed
    with pytest.raises(Invalid) as refused:
        engine.start("issue_list_entry", started_by="neike_head", data={
            "source": "audit", "source_ref": "2026年内部审计报告", "items": [
                {"department": "neike", "problem": "差旅报销超标准", "measure": "追回并整改", "deadline_days": 10},
                {"department": "waike", "problem": "耗材出入库不符", "measure": "盘点", "deadline_days": 10}]})
    assert [p.field for p in refused.value.problems] == ["items[1].department"]
    assert issues.register_page(engine)["items"] == []
