"""加签 on the task page: 前加签 in the task's other actions, 后加签 under the task's own form (the form
as filled in waits for the colleague's agreement); only the colleagues the step allows are offered, and
a refusal comes back next to its field with the form as typed."""
from __future__ import annotations

import pytest

from engine.inbox import signers
from tests.helpers.web import login, post



@pytest.fixture
def review(engine, deploy, people):
    deploy("approval_rules.bpmn")          # review: notPerformedBy="draft"; candidates heads and the office
    view = engine.start("approval_rules", started_by="jijian")
    view = engine.complete_task(view.tasks[0].id, user="jijian", data={})
    engine.claim(view.tasks[0].id, user="neike_head")
    return view.tasks[0].id


def test_the_task_page_offers_both_kinds_of_signer_among_the_steps_candidates(app, review):
    head = app.test_client()
    login(head, "neike_head")
    page = head.get(f"/tasks/{review}").get_data(as_text=True)
    assert 'id="add-signer"' in page and 'id="add-signer-after"' in page
    assert f'formaction="/tasks/{review}/signers"' in page and "提交并后加签" in page
    assert 'value="waike_head"' in page and 'value="nurse"' not in page       # heads and the office only


def test_a_signer_after_refused_by_separation_of_duties_is_said_next_to_the_field_with_the_input_kept(
        app, review, engine):
    head = app.test_client()
    login(head, "neike_head")
    resp = post(head, f"/tasks/{review}/signers", {"signer": "jijian", "reason": "请纪检把关", "position": "after"},
                page=f"/tasks/{review}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'data-testid="signer-error"' in text and "职责分离" in text
    assert "请纪检把关" in text and signers.of_task(engine, review) == []


def test_a_signer_after_agrees_and_the_task_is_submitted_for_the_holder(app, review, engine):
    head = app.test_client()
    login(head, "neike_head")
    resp = post(head, f"/tasks/{review}/signers", {"signer": "waike_head", "reason": "请外科主任会签",
                                                   "position": "after"}, page=f"/tasks/{review}")
    assert resp.status_code == 302 and engine.task(review).status == "open"
    [pending] = signers.of_task(engine, review)
    assert pending["position"] == "after" and pending["status"] == "pending"
    assert "后加签" in head.get(f"/tasks/{review}").get_data(as_text=True)
    other = app.test_client()
    login(other, "waike_head")
    assert post(other, f"/signatures/{pending['id']}", {"agree": "yes", "opinion": "同意"},
                page=f"/signatures/{pending['id']}").status_code == 302
    task = engine.task(review)
    assert task.status == "completed" and task.completed_by == "neike_head"
