"""Safe hand-overs: a task goes only to the people its lane lets have it (the engine refuses anyone
else, for every process), searched by name, pinyin initials or department; a delegated task comes
back to its owner to complete; every refusal is said on the task page next to its field, with what
was typed kept, in the reader's language."""
from __future__ import annotations

import io

import pytest

from engine.errors import Conflict, Invalid
from tests.helpers.web import login, post
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


@pytest.fixture
def triage(clues, engine):
    """A confidential clue's 分析研判, claimed by 陈纪检 of the discipline office."""
    reg = clues.register(real_name=False)
    task = clues.tasks(reg.instance_id)["triage"]
    engine.claim(task.id, user="jijian")
    return task.id


def test_the_engine_refuses_to_hand_a_confidential_clue_to_a_clinician_in_any_way(engine, triage):
    for act in (engine.transfer, engine.delegate, engine.reassign):
        with pytest.raises(Invalid) as refused:
            act(triage, user="jijian", to="surgeon", reason="请协助")
        assert refused.value.problems[0].field == "to" and "不在此任务的办理范围内" in refused.value.problems[0].message
        assert engine.task(triage).assignee == "jijian"


def test_the_hand_over_offers_only_the_lane_and_finds_people_by_pinyin_initials_or_department(client, triage):
    login(client, "jijian")
    page = client.get(f"/tasks/{triage}").get_data(as_text=True)
    offers = "".join(part.split("</details>")[0] for part in page.split('<details class="handover" data-kind=')[1:])
    assert 'value="jj_head"' in offers and "钱主任" in offers
    assert 'value="surgeon"' not in offers and 'value="nurse"' not in offers and 'value="jijian"' not in offers
    copy_to = page[page.index('id="copy-to"'):].split("</select>")[0]     # 抄送: only the roles it names
    assert 'value="jj_head"' in copy_to and 'value="surgeon"' not in copy_to
    assert [t["username"] for t in client.get(f"/tasks/{triage}/targets?q=qzr").get_json()] == ["jj_head"]
    assert [t["username"] for t in client.get(f"/tasks/{triage}/targets?q=纪检").get_json()] == ["jj_head"]
    assert client.get(f"/tasks/{triage}/targets?q=zys").get_json() == []      # 赵医生: not in the lane


def test_a_refused_hand_over_is_said_next_to_the_field_with_the_reason_kept(client, triage):
    login(client, "jijian")
    resp = post(client, f"/tasks/{triage}/transfer", {"to": "surgeon", "reason": "请赵医生协助研判"},
                page=f"/tasks/{triage}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="transfer-to-error"' in page and "不在此任务的办理范围内" in page
    assert 'value="请赵医生协助研判"' in page and "输入有误" not in page


def test_a_delegated_task_comes_back_to_its_owner_who_completes_it(client, app, engine, triage):
    login(client, "jijian")
    resp = post(client, f"/tasks/{triage}/delegate", {"to": "jj_head", "reason": "请主任先研判"}, page=f"/tasks/{triage}")
    assert resp.status_code == 302
    task = engine.task(triage)
    assert (task.assignee, task.owner, task.delegation) == ("jj_head", "jijian", "pending")
    with pytest.raises(Conflict):          # the delegate resolves; only the owner completes
        engine.complete_task(triage, user="jj_head", data={"disposal": "verify", "opinion": "x"})

    head = app.test_client()
    login(head, "jj_head")
    page = head.get(f"/tasks/{triage}").get_data(as_text=True)
    assert "办完交回" in page and 'data-testid="owner"' in page
    resp = post(head, f"/tasks/{triage}", {"disposal": "verify", "opinion": "建议初步核实", "action": "resolve"},
                page=f"/tasks/{triage}")
    assert resp.status_code == 302
    task = engine.task(triage)
    assert (task.assignee, task.delegation, task.status) == ("jijian", "resolved", "open")

    page = client.get(f"/tasks/{triage}").get_data(as_text=True)
    assert "建议初步核实" in page and 'data-testid="resolved"' in page
    meeting = {"meeting_date": "2026-09-28", **{f"participants[{i}].{k}": v for i, who in
                                                 enumerate(("jijian", "jj_head", "leader"))
                                                 for k, v in (("person", who), ("opinion", "同意"))}}
    resp = post(client, f"/tasks/{triage}", {"disposal": "verify", "opinion": "建议初步核实", "action": "complete",
                                             **meeting}, page=f"/tasks/{triage}")
    assert resp.status_code == 302 and engine.task(triage).completed_by == "jijian"
    kinds = [e["type"] for e in engine.events(task.instance_id)]
    assert kinds.index("task_entrusted") < kinds.index("task_resolved") < kinds.index("task_completed")


def test_a_plain_transfer_stays_with_the_colleague(client, engine, triage):
    login(client, "jijian")
    assert post(client, f"/tasks/{triage}/transfer", {"to": "jj_head", "reason": "休假"},
                page=f"/tasks/{triage}").status_code == 302
    task = engine.task(triage)
    assert (task.assignee, task.owner, task.delegation) == ("jj_head", None, None)


def test_a_refused_attachment_is_said_next_to_the_upload_on_the_task_page(client, triage):
    login(client, "jijian")
    resp = post(client, f"/tasks/{triage}/attachments", {"file": (io.BytesIO(b"MZ..."), "tool.exe")},
                page=f"/tasks/{triage}", content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="file-error"' in page and "不支持的文件类型 .exe" in page
    assert "分析研判" in page                          # the task page, not a bare error page


def test_a_completion_guard_refusal_is_shown_next_to_its_field_with_the_input_kept(client, clues, engine):
    reg = clues.register(real_name=False, party_member=False, public_employee=False)
    clues.triage(reg.instance_id, "verify")
    clues.do(reg.instance_id, "verify_plan", verify_plan="p", verify_team="t")
    clues.do(reg.instance_id, "approve_plan", plan_approved=True, plan_comment=None)
    clues.do(reg.instance_id, "gather_evidence", evidence=[{"item": "i", "finding": "f", "done_on": None}],
             evidence_files=[])
    clues.do(reg.instance_id, "verify_report", verify_conclusion="partly", verify_report="r", report_files=[])
    outcome = clues.tasks(reg.instance_id)["outcome"].id
    login(client, "jijian")
    resp = post(client, f"/tasks/{outcome}", {"discipline_form": "first", "measure": "诫勉谈话",
                                               "admin_penalty": "罚款五千元", "publicized": "false", "rules_improved": "0",
                                               "action": "complete"}, page=f"/tasks/{outcome}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "四种形态只适用于党员和公职人员" in page and "输入有误" not in page
    assert "罚款五千元" in page and "诫勉谈话" in page                # the input is kept
    assert engine.task(outcome).status == "open"

    client.post("/account/locale", data={"locale": "en", "csrf_token": _token(client, outcome)})
    resp = post(client, f"/tasks/{outcome}", {"discipline_form": "first", "measure": "诫勉谈话",
                                               "admin_penalty": "罚款五千元", "publicized": "false", "rules_improved": "0",
                                               "action": "complete"}, page=f"/tasks/{outcome}")
    page = resp.get_data(as_text=True)
    assert "The four forms apply only to party members and public employees" in page
    assert "四种形态只适用于党员和公职人员" not in page


def _token(client, task_id):
    from tests.helpers.web import csrf
    return csrf(client, f"/tasks/{task_id}")

