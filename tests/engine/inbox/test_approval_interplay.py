"""The approval operations meeting the rest of the engine: a child instance started after the step
sent back to, a confidential process's copies, deadlines that an urge or a pending 加签 do not stop,
and `qinglian audit replay` of an instance that went through every operation."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from engine.cli.main import main
from engine.errors import Conflict, Invalid
from engine.inbox import bulk, copies, signers, urging
from engine.runtime.replay import replay
from engine.org.people import signed_in as who      # the person, as a request's session names them
from tests.helpers.flows import claimed_review

pytestmark = pytest.mark.both_databases



def test_a_plan_is_not_sent_back_while_the_department_work_it_started_is_running(engine, deploy, people):
    deploy("send_back_children.bpmn")
    view = engine.start("plan_with_children", started_by="jijian")
    view = engine.complete_task(view.tasks[0].id, user="jijian", data={"plan": "初稿"})
    [approve] = view.tasks
    [child] = [t for t in engine.list_tasks(status="open") if t.element_id == "rectify"]
    with pytest.raises(Conflict, match="子流程仍在进行（整改 neike）") as refused:
        engine.send_back(approve.id, user="neike_head", reason="方案不具体")
    assert refused.value.to_dict()["code"] == "children_running"        # as the API answers it
    assert engine.task(approve.id).status == "open"                # nothing half-done
    engine.complete_task(child.id, user="neike_head", data={})
    back = engine.send_back(approve.id, user="neike_head", reason="方案不具体")
    assert [t.element_id for t in back.tasks] == ["plan"] and back.tasks[0].assignee == "jijian"
    assert replay(engine, back.id).ok and replay(engine, child.instance_id).ok


def test_a_confidential_process_is_copied_only_within_its_roles(engine, deploy, people):
    deploy("approval_rules.bpmn")                     # confidential: discipline_office, department_head
    review = claimed_review(engine, "approval_rules", "jijian")
    head = who(engine, "neike_head")
    with pytest.raises(Invalid) as refused:
        copies.copy(engine, head, review.id, ["nurse", "waike_head"], "请知悉")
    [problem] = refused.value.problems
    assert (problem.field, problem.code) == ("to", "confidential") and "王护士" in problem.message
    assert copies.of_task(engine, review.id) == []                     # the colleague allowed is not copied either
    copies.copy(engine, head, review.id, ["waike_head"], "请知悉")
    assert [c["recipient"] for c in copies.mine(engine, who(engine, "waike_head"))] == ["waike_head"]
    assert copies.mine(engine, who(engine, "nurse")) == []


def test_an_urge_and_a_pending_signature_do_not_stop_the_holders_deadline(engine, deploy, clock, people):
    deploy("deadline_task.bpmn")                      # 15 working days, escalation 2 working days later
    view = engine.start("deadline_task", started_by="jijian", data={"department": "neike"})
    task = view.tasks[0]
    engine.claim(task.id, user="neike_head")
    urging.urge(engine, who(engine, "jijian"), task.id, "请抓紧")
    assert engine.task(task.id).due_at == task.due_at
    clock.set(task.due_at + timedelta(days=5))
    engine.sweep_deadlines()
    events = [e["type"] for e in engine.events(task.instance_id)]
    assert "task_urged" in events and "task_escalated" in events
    assert replay(engine, task.instance_id).ok


def test_audit_replay_of_an_instance_that_went_through_every_operation(engine, deploy, db, people, forms_dir):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse")
    draft = view.tasks[0]
    view = engine.complete_task(draft.id, user="nurse", data={"opinion": "初稿"})
    engine.withdraw(draft.id, user="nurse", reason="写错了")                                  # 撤回
    view = engine.complete_task(draft.id, user="nurse", data={"opinion": "谈话提醒"})
    review = view.tasks[0]
    engine.claim(review.id, user="neike_head")
    urging.urge(engine, who(engine, "jijian"), review.id, "请尽快")                           # 催办
    copies.copy(engine, who(engine, "neike_head"), review.id, ["waike_head"], "请知悉")       # 抄送
    signers.add(engine, who(engine, "neike_head"), review.id, "jijian", "before", "请先把关")  # 前加签
    [ask] = signers.mine(engine, who(engine, "jijian"))
    signers.sign(engine, who(engine, "jijian"), ask["id"], True, "同意")
    signers.add(engine, who(engine, "neike_head"), review.id, "waike_head", "after", "请会签", raw={})  # 后加签
    [ask] = signers.mine(engine, who(engine, "waike_head"))
    signers.sign(engine, who(engine, "waike_head"), ask["id"], True, "同意")
    approve = engine.show(view.id).tasks[0]
    engine.send_back(approve.id, user="jijian", reason="依据不充分")                         # 退回
    [result] = bulk.run(engine, who(engine, "neike_head"), "release", [review.id])            # bulk
    assert result.ok
    types = {e["type"] for e in engine.events(view.id)}
    assert {"task_withdrawn", "task_urged", "task_copied", "signer_added", "signer_signed", "task_sent_back",
            "task_unclaimed"} <= types
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False), "QINGLIAN_FORMS_DIR": str(forms_dir)}
    out = CliRunner().invoke(main, ["audit", "replay", view.id], env=env, catch_exceptions=False)
    assert out.exit_code == 0 and "every recorded state reached" in out.output, out.output


def test_a_send_back_does_not_reach_into_a_call_activity_and_says_so(engine, deploy, people):
    deploy("call_activity.bpmn")                       # main: call_sub (sub_task inside) → after
    view = engine.start("main", started_by="nurse")
    view = engine.complete_task(view.tasks[0].id, user="nurse", data={"answer": 41})
    [after] = view.tasks
    with pytest.raises(Conflict, match="没有可退回的上一步"):
        engine.send_back(after.id, user="jijian", reason="再答一次")
    assert engine.task(after.id).status == "open"
    view = engine.complete_task(after.id, user="jijian", data={})
    assert view.status == "completed" and view.data["y"] == 42 and replay(engine, view.id).ok
