"""提级办理 / 交叉办理 / 联合办理 as modes of handling with steps of their own: decided at the triage
(collectively, approved like any disposal), recorded as the clue's data and events, shown in the
ledger; a clue escalated to the higher commission is never again seen by the leadership group."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from engine.errors import Invalid
from tests.helpers.clues import meeting
from tests.helpers.web import login, post
from tests.web.test_clue_confidentiality import app  # noqa: F401  (fixture)
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms

OUTCOME = {"discipline_form": "first", "measure": "谈话提醒", "admin_penalty": None, "publicized": False,
           "rules_improved": 0, "campaign": None}


def _decide(clues, iid, mode, disposal="verify"):
    clues.do(iid, "triage", disposal=disposal, opinion="研判意见", handling_mode=mode, **meeting())
    clues.do(iid, "approve_office", office_approved=True, office_comment=None)


def test_an_escalated_clue_goes_to_the_higher_commission_and_the_leadership_group_never_sees_it(app, clues, engine):
    reg = clues.register(real_name=False, position_level="middle_manager", person_name="钱科长",
                         summary="反映钱科长在设备采购中收受回扣。")
    leader = app.test_client()
    login(leader, "leader")
    assert reg.business_key in leader.get("/clues").get_data(as_text=True)     # a hospital clue until escalated
    _decide(clues, reg.instance_id, "escalated")
    tasks = clues.tasks(reg.instance_id)
    assert set(tasks) == {"escalate_report"}            # no approval by the leadership group
    task_id = tasks["escalate_report"].id
    assert leader.get(f"/clues/{reg.instance_id}").status_code == 404
    assert reg.business_key not in leader.get("/clues").get_data(as_text=True)
    assert leader.get(f"/tasks/{task_id}").status_code == 404
    sheet = load_workbook(io.BytesIO(leader.get("/clues/export.xlsx").data)).active
    assert all("钱科长" not in str(v) for r in sheet.iter_rows(values_only=True) for v in r)
    assert "钱科长" not in leader.get("/inbox?view=claimable").get_data(as_text=True)
    row = clues.row(reg.instance_id)
    assert (row["stage"], row["handling_modes"], row["jurisdiction"]) == ("提级报送上级纪委", ["提级办理"], "escalated")
    clues.do(reg.instance_id, "escalate_report", mode_handled_by="市卫生健康委纪检监察组", mode_sent_on="2026-09-28",
             mode_sent_what="举报材料及初步研判意见", mode_sent_files=[])
    assert clues.row(reg.instance_id)["stage"] == "等待上级纪委回执"
    clues.do(reg.instance_id, "escalate_receipt", mode_receipt_on="2026-09-28", mode_receipt_no="市纪收〔2026〕8号",
             mode_receipt_files=[])
    clues.do(reg.instance_id, "escalate_result", mode_result_on="2026-09-28", mode_result="反映问题部分属实",
             mode_result_files=[])
    clues.do(reg.instance_id, "outcome", **OUTCOME)
    row = clues.row(reg.instance_id)
    assert row["status"] == "closed" and row["handled_by"] == "市卫生健康委纪检监察组"
    assert "提级办理" in row["result"] and "报送市卫生健康委纪检监察组" in row["result"]
    assert "办理结果：反映问题部分属实" in row["result"]
    # the mode and each step are event data on the clue's chain, not words in a reassignment reason
    events = engine.events(reg.instance_id)
    triage = next(e for e in events if e["type"] == "task_completed" and e["element_id"] == "triage")
    assert triage["data"]["data"]["handling_mode"] == "escalated"
    sent = next(e for e in events if e["type"] == "task_completed" and e["element_id"] == "escalate_report")
    assert sent["data"]["data"]["mode_handled_by"] == "市卫生健康委纪检监察组"
    assert not [e for e in events if e["type"] == "task_reassigned"]
    assert any(e["type"] == "recusal_recorded" and e["data"].get("role") == "leadership_group" for e in events)
    assert leader.get(f"/clues/{reg.instance_id}").status_code == 404      # not even once closed


def test_cross_handling_hands_the_clue_to_another_unit_s_team_and_records_its_result(app, clues):
    reg = clues.register(real_name=False)
    _decide(clues, reg.instance_id, "cross")
    assert set(clues.tasks(reg.instance_id)) == {"cross_send"}
    clues.do(reg.instance_id, "cross_send", mode_handled_by="区人民医院纪委", mode_team="组长：孙某；成员：李某",
             mode_sent_on="2026-09-28", mode_sent_what="线索材料", mode_sent_files=[])
    assert clues.row(reg.instance_id)["stage"] == "等待交叉办理回执"
    clues.do(reg.instance_id, "cross_receipt", mode_receipt_on="2026-09-28", mode_receipt_no=None,
             mode_receipt_files=[])
    assert clues.row(reg.instance_id)["stage"] == "交叉办理中"
    clues.do(reg.instance_id, "cross_result", mode_result_on="2026-09-28", mode_result="反映不实",
             mode_result_files=[])
    clues.do(reg.instance_id, "outcome", **{**OUTCOME, "discipline_form": "none", "measure": None})
    row = clues.row(reg.instance_id)
    assert row["handling_modes"] == ["交叉办理"] and "移交区人民医院纪委（组长：孙某；成员：李某）" in row["result"]
    leader = app.test_client()
    login(leader, "leader")
    assert leader.get(f"/clues/{reg.instance_id}").status_code == 200       # handled at this level: visible
    assert "交叉办理" in leader.get("/clues").get_data(as_text=True)


def test_joint_handling_forms_a_team_reports_it_and_records_the_team_s_result(clues):
    reg = clues.register(real_name=False)
    _decide(clues, reg.instance_id, "joint")
    assert set(clues.tasks(reg.instance_id)) == {"joint_team"}
    clues.do(reg.instance_id, "joint_team", mode_handled_by="区卫生健康局纪检组", mode_team="陈纪检、王某",
             mode_reported_to="区纪委监委", mode_sent_on="2026-09-28", mode_sent_what="组建联合办理组的情况")
    assert clues.row(reg.instance_id)["stage"] == "联合办理中"
    clues.do(reg.instance_id, "joint_result", mode_result_on="2026-09-28", mode_result="部分属实",
             mode_result_files=[])
    clues.do(reg.instance_id, "outcome", **OUTCOME)
    row = clues.row(reg.instance_id)
    assert row["status"] == "closed" and row["handling_modes"] == ["联合办理"]
    assert "联合区卫生健康局纪检组（陈纪检、王某）" in row["result"]


def test_a_receipt_dated_before_the_sending_is_refused_on_its_field(clues):
    reg = clues.register(real_name=False)
    _decide(clues, reg.instance_id, "cross")
    clues.do(reg.instance_id, "cross_send", mode_handled_by="区人民医院纪委", mode_team="孙某", mode_sent_on="2026-09-28",
             mode_sent_what="线索材料", mode_sent_files=[])
    with pytest.raises(Invalid) as exc:
        clues.do(reg.instance_id, "cross_receipt", mode_receipt_on="2026-09-25", mode_receipt_no=None,
                 mode_receipt_files=[])
    assert [p.field for p in exc.value.problems] == ["mode_receipt_on"]


def test_a_clue_handled_here_takes_its_disposal_route_and_the_old_reassignment_door_is_gone(app, clues):
    reg = clues.register(real_name=False)
    _decide(clues, reg.instance_id, "self", disposal="talk_inquiry")
    assert set(clues.tasks(reg.instance_id)) == {"inquiry"}
    assert clues.row(reg.instance_id)["handling_modes"] == []
    c = app.test_client()
    login(c, "jijian")
    assert "提级/交叉/联合办理" not in c.get(f"/clues/{reg.instance_id}").get_data(as_text=True)
    assert post(c, f"/clues/{reg.instance_id}/handling", {"mode": "escalated", "to": "jj_head", "reason": "x"}
                ).status_code in (404, 405)


def test_the_triage_page_offers_the_modes_and_a_submitted_mode_takes_its_steps(app, clues):
    reg = clues.register(real_name=False)
    triage = clues.tasks(reg.instance_id)["triage"].id
    c = app.test_client()
    login(c, "jijian")
    page = c.get(f"/tasks/{triage}").get_data(as_text=True)
    assert "办理方式" in page and "提级办理（上级纪委监委办理）" in page and "联合办理（与其他单位联合）" in page
    form = {"disposal": "verify", "handling_mode": "joint", "opinion": "联合区卫生健康局纪检组办理",
            "meeting_date": "2026-09-28", "action": "complete"}
    for n, person in enumerate(("jijian", "jj_head", "leader")):
        form[f"participants[{n}].person"] = person
        form[f"participants[{n}].opinion"] = "同意"
    resp = post(c, f"/tasks/{triage}", form, page=f"/tasks/{triage}")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    clues.do(reg.instance_id, "approve_office", office_approved=True, office_comment=None)
    assert set(clues.tasks(reg.instance_id)) == {"joint_team"}
