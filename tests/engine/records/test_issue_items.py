"""问题清单, 销号管理 outside inspections. Seed 004: "对查摆出的问题，要建立问题清单，实行销号管理";
seed 002 names the other sources: "巡视巡察、审计、专项检查…反馈的问题". Each problem becomes an issue
item that its department rectifies with evidence and the office closes out (销号) item by item."""
from __future__ import annotations

import pytest

from engine import bootstrap, config
from engine.errors import Invalid
from engine.records import issues

pytestmark = [pytest.mark.real_forms, pytest.mark.both_databases]


@pytest.fixture
def deployed(engine, people):
    bootstrap.deploy_directory(engine, config.PROJECT_ROOT / "processes", deployed_by="admin")
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
