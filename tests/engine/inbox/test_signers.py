"""加签: the holder of a review adds a colleague before (they sign first) or after (the holder's
submission waits for the signature, which completes the task) — among the candidates the step
allows, without editing the BPMN."""
from __future__ import annotations

import pytest

from engine.errors import Conflict, Invalid
from engine.inbox import signers, submission
from engine.runtime.replay import replay
from engine.org.people import signed_in as who      # the person, as a request's session names them
from tests.helpers.flows import claimed_review

pytestmark = pytest.mark.both_databases



@pytest.fixture
def review(engine, deploy, people):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse")
    view = engine.complete_task(view.tasks[0].id, user="nurse", data={"opinion": "谈话提醒"})
    task = view.tasks[0]
    engine.claim(task.id, user="neike_head")
    return task


def test_before_the_added_signer_signs_first_and_only_then_the_holder_completes(engine, review):
    head = who(engine, "neike_head")
    signers.add(engine, head, review.id, "jijian", "before", "请纪检监察室先把关")
    with pytest.raises(Conflict, match="jijian"):
        submission.submit(engine, head, review.id, {})
    [mine] = signers.mine(engine, who(engine, "jijian"))
    assert mine["status"] == "pending" and mine["task"].name == "科室审核"
    signers.sign(engine, who(engine, "jijian"), mine["id"], True, "同意")
    done = submission.submit(engine, head, review.id, {})
    assert [t.element_id for t in done.instance.tasks] == ["approve"]
    types = [e["type"] for e in engine.events(review.instance_id)]
    assert types.count("signer_added") == 1 and types.count("signer_signed") == 1
    assert replay(engine, review.instance_id).ok


def test_after_the_signature_completes_the_task_with_the_holders_submission(engine, review):
    head = who(engine, "neike_head")
    signers.add(engine, head, review.id, "waike_head", "after", "请外科主任会签", raw={})
    assert engine.task(review.id).status == "open"
    [mine] = signers.mine(engine, who(engine, "waike_head"))
    with pytest.raises(Invalid):                       # a refusal needs its reason
        signers.sign(engine, who(engine, "waike_head"), mine["id"], False, "")
    signers.sign(engine, who(engine, "waike_head"), mine["id"], True, "同意，注意时限")
    task = engine.task(review.id)
    assert task.status == "completed" and task.completed_by == "neike_head"
    view = engine.show(review.instance_id)
    assert view.data["added_signatures"] == [{"signer": "waike_head", "agree": True, "opinion": "同意，注意时限"}]
    with pytest.raises(Conflict):
        signers.sign(engine, who(engine, "waike_head"), mine["id"], True, "")
    assert replay(engine, review.instance_id).ok


def test_only_allowed_candidates_and_never_oneself(engine, review):
    head = who(engine, "neike_head")
    with pytest.raises(Invalid) as refused:
        signers.add(engine, head, review.id, "nurse2", "before", "x")      # staff only: not a candidate
    assert refused.value.problems[0].code == "not_a_candidate"
    with pytest.raises(Invalid) as refused:
        signers.add(engine, head, review.id, "neike_head", "sideways", "")
    assert {p.code for p in refused.value.problems} == {"self", "required"}
    assert signers.of_task(engine, review.id) == []


def test_a_step_without_candidates_refuses(engine, deploy, people):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse")
    engine.claim(view.tasks[0].id, user="nurse")
    with pytest.raises(Conflict, match="不允许加签"):
        signers.add(engine, who(engine, "nurse"), view.tasks[0].id, "jijian", "before", "x")


def test_a_signer_who_drafted_the_opinion_is_refused_by_separation_of_duties(engine, deploy, people):
    deploy("approval_rules.bpmn")          # review: notPerformedBy="draft", candidates heads and the office
    review = claimed_review(engine, "approval_rules", "jijian")
    head = who(engine, "neike_head")
    with pytest.raises(Invalid) as refused:
        signers.add(engine, head, review.id, "jijian", "before", "请纪检监察室把关")
    [problem] = refused.value.problems
    assert problem.field == "signer" and problem.code == "separation"
    assert "已办理「拟定处置意见」" in problem.message and "职责分离" in problem.message
    assert signers.of_task(engine, review.id) == []
    signers.add(engine, head, review.id, "waike_head", "before", "请外科主任把关")
    assert [s["signer"] for s in signers.of_task(engine, review.id)] == ["waike_head"]
