"""退回 (send back) and 撤回 (withdraw): the instance goes back to an earlier user task, on both
databases, with its timers, deadlines, inbox rows, history and replay."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.db.schema import human_task, timer
from engine.errors import Conflict, Invalid, TaskClaimedByOther
from engine.runtime.replay import replay

pytestmark = pytest.mark.both_databases


def _rows(db, instance_id):
    with db.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(human_task).where(human_task.c.instance_id == instance_id))}


def _timers(db, instance_id):
    with db.connect() as conn:
        return sorted(r.element_id for r in conn.execute(sa.select(timer).where(timer.c.instance_id == instance_id)))


def _to_approve(engine):
    view = engine.start("send_back", started_by="nurse")
    draft = view.tasks[0]
    engine.claim(draft.id, user="nurse")
    view = engine.complete_task(draft.id, user="nurse", data={"opinion": "谈话提醒"})
    review = view.tasks[0]
    view = engine.complete_task(review.id, user="neike_head", data={"agree": True})
    return view, draft, review


def test_the_approver_sends_back_to_the_previous_step_which_its_performer_gets_again(engine, deploy, db, clock):
    deploy("send_back.bpmn")
    view, draft, review = _to_approve(engine)
    [approve] = view.tasks
    clock.advance(timedelta(days=1))
    back = engine.send_back(approve.id, user="jijian", reason="依据不充分，请补充")
    [again] = back.tasks
    assert again.id == review.id and again.element_id == "review"
    assert again.assignee == "neike_head"                 # the earlier performer has it again
    rows = _rows(db, back.id)
    assert rows[approve.id].status == "sent_back" and rows[approve.id].completed_by == "jijian"
    assert rows[draft.id].status == "completed"           # history before the target untouched
    sent = [e for e in engine.events(back.id) if e["type"] == "task_sent_back"]
    assert sent[0]["data"]["reason"] == "依据不充分，请补充" and sent[0]["data"]["to"] == "review"
    assert [e["type"] for e in engine.events(back.id)].count("task_completed") == 2   # nothing erased
    # the instance goes on from there as if the step had not been done
    view = engine.complete_task(again.id, user="neike_head", data={"agree": True})
    assert [t.element_id for t in view.tasks] == ["approve"]
    assert replay(engine, back.id).ok


def test_send_back_to_an_allowed_earlier_step_re_arms_its_timer_and_due_date(engine, deploy, db, clock):
    deploy("send_back.bpmn")
    view, draft, review = _to_approve(engine)
    assert _timers(db, view.id) == []                        # both boundary timers were cancelled
    clock.advance(timedelta(days=3))
    engine.cache.clear()                                      # from the database alone
    back = engine.send_back(view.tasks[0].id, user="jijian", reason="事实不清", to="draft")
    [again] = back.tasks
    assert again.id == draft.id and again.assignee == "nurse"
    assert _timers(db, back.id) == ["draft_late"]            # armed again from now
    old_due = _rows(db, back.id)[draft.id].due_at
    assert old_due > clock.now() + timedelta(days=4)          # a fresh deadline from the send-back
    assert back.data.get("opinion") is None                   # the draft's own submission is undone
    # the timer fires as it would have (five working days after the send-back: National Day lies between)
    clock.advance(timedelta(days=12))
    assert engine.fire_due_timers() == 0
    clock.advance(timedelta(days=1))
    assert engine.fire_due_timers() == 1
    assert [t.element_id for t in engine.show(back.id).tasks] == ["draft"]    # non-interrupting
    assert replay(engine, back.id).ok


def test_send_back_needs_a_reason_and_refuses_what_the_process_does_not_allow(engine, deploy):
    deploy("send_back.bpmn")
    view, draft, review = _to_approve(engine)
    approve = view.tasks[0]
    with pytest.raises(Invalid) as refused:
        engine.send_back(approve.id, user="jijian", reason="  ")
    assert refused.value.problems[0].field == "reason"
    with pytest.raises(Invalid) as refused:
        engine.send_back(approve.id, user="jijian", reason="x", to="archive")
    assert refused.value.problems[0].field == "to"
    view = engine.complete_task(approve.id, user="jijian")
    with pytest.raises(Conflict, match="不允许退回"):
        engine.send_back(view.tasks[0].id, user="owner", reason="x")
    first = engine.start("send_back", started_by="nurse").tasks[0]
    with pytest.raises(Conflict, match="没有可退回"):
        engine.send_back(first.id, user="nurse", reason="x")


def test_only_the_holder_sends_back_a_claimed_task(engine, deploy):
    deploy("send_back.bpmn")
    view, _d, _r = _to_approve(engine)
    engine.claim(view.tasks[0].id, user="jijian")
    with pytest.raises(TaskClaimedByOther):
        engine.send_back(view.tasks[0].id, user="owner", reason="x")


def test_a_return_across_a_parallel_split_is_refused_unless_the_process_allows_it(engine, deploy, db):
    deploy("send_back_parallel.bpmn")
    view = engine.start("send_back_parallel", started_by="nurse")
    draft = view.tasks[0]
    view = engine.complete_task(draft.id, user="nurse", data={"text": "初稿"})
    a, b = sorted(view.tasks, key=lambda t: t.element_id)
    with pytest.raises(Conflict, match="并行"):
        engine.send_back(a.id, user="surgeon", reason="x")
    back = engine.send_back(b.id, user="surgeon", reason="初稿有误")
    assert [t.element_id for t in back.tasks] == ["draft"]
    rows = _rows(db, back.id)
    assert rows[a.id].status == "sent_back" and rows[b.id].status == "sent_back"
    view = engine.complete_task(draft.id, user="nurse", data={"text": "二稿"})
    assert sorted(t.element_id for t in view.tasks) == ["task_a", "task_b"]
    assert replay(engine, back.id).ok


def test_the_previous_submission_is_handed_to_prepare(engine, deploy):
    deploy("send_back.bpmn")
    view, draft, review = _to_approve(engine)
    seen = []
    engine.send_back(view.tasks[0].id, user="jijian", reason="x", to="draft",
                     prepare=lambda conn, tid, who, previous: seen.append((tid, who, previous)))
    assert seen == [(draft.id, "nurse", {"opinion": "谈话提醒"})]


def test_a_send_back_on_a_long_loop_goes_back_one_step(engine, deploy):
    deploy("w2.bpmn")
    view = engine.start("w2_process", started_by="alice")
    for _ in range(5):
        view = engine.complete_task(view.tasks[0].id, user="alice")
    assert view.data["counter"] == 5
    engine.cache.clear()
    back = engine.send_back(view.tasks[0].id, user="bob", reason="重做")
    assert back.data["counter"] == 4 and back.tasks[0].assignee == "alice"
    view = engine.complete_task(back.tasks[0].id, user="alice")
    assert view.data["counter"] == 5
    assert replay(engine, back.id).ok


# -- 撤回 ---------------------------------------------------------------------------------------
def test_the_performer_withdraws_while_the_next_step_is_untouched(engine, deploy, db):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse")
    draft = view.tasks[0]
    view = engine.complete_task(draft.id, user="nurse", data={"opinion": "初稿"})
    review = view.tasks[0]
    with pytest.raises(Conflict, match="自己"):
        engine.withdraw(draft.id, user="nurse2")
    back = engine.withdraw(draft.id, user="nurse", reason="写错了")
    [again] = back.tasks
    assert again.id == draft.id and again.assignee == "nurse"
    assert _rows(db, back.id)[review.id].status == "withdrawn"
    assert _timers(db, back.id) == ["draft_late"]
    assert [e["type"] for e in engine.events(back.id)][-2:] == ["task_withdrawn", "task_ready"]
    assert replay(engine, back.id).ok


def test_withdraw_is_refused_once_the_next_step_is_claimed(engine, deploy):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse")
    draft = view.tasks[0]
    view = engine.complete_task(draft.id, user="nurse")
    engine.claim(view.tasks[0].id, user="neike_head")
    with pytest.raises(Conflict, match="认领"):
        engine.withdraw(draft.id, user="nurse")
    engine.unclaim(view.tasks[0].id, user="neike_head")
    with pytest.raises(Conflict):          # claimed once: acted on
        engine.withdraw(draft.id, user="nurse")
