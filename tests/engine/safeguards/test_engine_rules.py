"""Recusal (回避), separation of duties and the collective decision are engine rules: they hold in a
process that is not the clue process — here a purchase contract's review (tests/data/bpmn/
contract_review.bpmn), where the requester and the people the review names as conflicted are kept out,
the approval may not be given by whoever drafted the opinion, and the decision needs two people.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.bpmn.validation import SourceFile
from engine.db.schema import staff_relation
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Forbidden, Invalid
from engine.inbox import handover, lists, tasks as inbox_tasks
from engine.org.people import principal
from engine.permissions import can_view_instance
from engine.runtime import recusal

pytestmark = pytest.mark.both_databases


@pytest.fixture
def review(engine, deploy, people, clock):
    """A contract review requested by nurse2 (内科, whose head is neike_head); nurse and surgeon work it."""
    deploy("contract_review.bpmn")
    view = engine.start("contract_review", started_by="jijian", business_key="HT-2026-001",
                        data={"requester": "nurse2", "conflicts": []})
    return view


def _who(db, username):
    with read_transaction(db) as conn:
        return principal(conn, username)


def _task(engine, view, element):
    return next(t for t in engine.show(view.id).tasks if t.element_id == element)


def _inbox(engine, db, username, view="claimable"):
    with read_transaction(db) as conn:
        p = principal(conn, username)
        page = lists.list_tasks(conn, p, lists.TaskQuery(view=view), now=engine.now(), soon_until=engine.now())
        return page, lists.counts(conn, p, now=engine.now(), soon_until=engine.now())


def test_the_person_concerned_and_their_head_never_see_the_review(engine, db, review):
    nurse2, head = _who(db, "nurse2"), _who(db, "neike_head")
    page, counts = _inbox(engine, db, "nurse2")
    assert page.total == 0 and page.rows == [] and counts["claimable"] == 0
    page, _ = _inbox(engine, db, "nurse")
    assert [r["element_id"] for r in page.rows] == ["draft"]
    draft = _task(engine, review, "draft")
    for person in (nurse2, head):
        with pytest.raises(Exception) as found:
            inbox_tasks.page(engine, person, draft.id)
        assert found.type.__name__ == "NotFound"
        with read_transaction(db) as conn:
            assert not can_view_instance(conn, person, review.id)
    with pytest.raises(Forbidden):      # whatever door: the engine itself refuses the claim
        engine.claim(draft.id, user="nurse2")
    events = [e for e in engine.events(review.id) if e["type"] == "recusal_recorded"]
    assert {(e["data"].get("person"), e["data"]["kind"]) for e in events} == {("nurse2", "concerned"),
                                                                              ("neike_head", "related")}


def test_a_declared_relative_is_kept_out_and_cannot_be_handed_the_task(engine, db, people, deploy, clock):
    with write_transaction(db) as conn:
        conn.execute(staff_relation.insert().values(username="surgeon", related="nurse2", relation="配偶",
                                                    created_at=clock.now()))
    deploy("contract_review.bpmn")
    view = engine.start("contract_review", started_by="jijian", data={"requester": "nurse2", "conflicts": []})
    draft = _task(engine, view, "draft")
    engine.claim(draft.id, user="nurse")
    with pytest.raises(Invalid) as refused:
        handover.hand_over(engine, _who(db, "nurse"), draft.id, "delegate", "surgeon", "出差")
    assert refused.value.problems[0].field == "to"
    with pytest.raises(Forbidden):
        engine.delegate(draft.id, user="nurse", to="surgeon", reason="出差")
    assert _task(engine, view, "draft").assignee == "nurse"


def test_a_person_named_later_by_the_data_is_kept_out_from_then_on(engine, db, review):
    draft = _task(engine, review, "draft")
    engine.complete_task(draft.id, user="nurse", data={"conflicts": ["surgeon"]})
    with read_transaction(db) as conn:
        assert recusal.excluded_persons(conn, review.id).excludes("surgeon")
    page, counts = _inbox(engine, db, "surgeon")
    assert page.rows == [] and counts["claimable"] == 0


def test_self_declared_conflict_takes_the_person_off_the_task_with_a_reason(engine, db, review):
    draft = _task(engine, review, "draft")
    nurse = _who(db, "nurse")
    inbox_tasks.claim(engine, nurse, draft.id)
    with pytest.raises(Invalid) as refused:
        inbox_tasks.declare_conflict(engine, nurse, draft.id, "  ")
    assert refused.value.problems[0].field == "reason"
    task = inbox_tasks.declare_conflict(engine, nurse, draft.id, "申请人是我的表妹")
    assert task.assignee is None
    declared = [e for e in engine.events(review.id) if e["type"] == "conflict_declared"]
    assert declared[-1]["actor"] == "nurse" and declared[-1]["data"]["reason"] == "申请人是我的表妹"
    page, _ = _inbox(engine, db, "nurse")
    assert page.rows == []
    with pytest.raises(Forbidden):
        engine.claim(draft.id, user="nurse")


def test_whoever_drafted_the_opinion_may_not_approve_it(engine, db, review):
    engine.complete_task(_task(engine, review, "draft").id, user="nurse", data={})
    engine.complete_task(_task(engine, review, "decide").id, user="surgeon", data={
        "meeting_date": "2026-09-28", "conclusion": "同意签订",
        "participants": [{"person": "nurse", "opinion": "同意"}, {"person": "surgeon", "opinion": "同意"}]})
    approve = _task(engine, review, "approve")
    with pytest.raises(Forbidden) as refused:
        inbox_tasks.claim(engine, _who(db, "nurse"), approve.id)
    assert "提出审查意见" in refused.value.message
    with pytest.raises(Forbidden):
        engine.complete_task(approve.id, user="nurse", data={})
    engine.claim(approve.id, user="surgeon")
    with pytest.raises(Forbidden):      # nor handed to them
        engine.reassign(approve.id, user="admin", to="nurse", reason="人手不够")
    assert engine.complete_task(approve.id, user="surgeon", data={}).status == "completed"


def test_a_collective_decision_without_quorum_is_refused_on_the_participants_field(engine, db, review):
    engine.complete_task(_task(engine, review, "draft").id, user="nurse", data={})
    decide = _task(engine, review, "decide")
    with pytest.raises(Invalid) as refused:
        engine.complete_task(decide.id, user="surgeon", data={
            "meeting_date": "2026-09-28", "conclusion": "同意签订",
            "participants": [{"person": "surgeon", "opinion": "同意"}]})
    problems = {p.field: p.code for p in refused.value.problems}
    assert problems == {"participants": "quorum"}
    assert _task(engine, review, "decide").status == "open"
    with pytest.raises(Invalid) as refused:
        engine.complete_task(decide.id, user="surgeon", data={
            "meeting_date": "2026-09-28", "conclusion": "",
            "participants": [{"person": "surgeon", "opinion": "同意"}, {"person": "nurse2", "opinion": "同意"}]})
    assert {p.field: p.code for p in refused.value.problems} == {"participants": "recused", "conclusion": "required"}


def test_deploy_checks_the_steps_a_separation_of_duties_names(engine, people):
    xml = (__import__("tests.conftest", fromlist=["DATA"]).DATA / "bpmn" / "contract_review.bpmn").read_text()
    broken = xml.replace('name="notPerformedBy" value="draft"', 'name="notPerformedBy" value="drafting"')
    with pytest.raises(Invalid) as refused:
        engine.deploy([SourceFile("contract_review.bpmn", broken.encode())], deployed_by="owner")
    assert any(p.field == "notPerformedBy" and "drafting" in p.message for p in refused.value.problems)


def test_a_role_the_data_withholds_the_instance_from_sees_nothing(engine, db, deploy, people):
    deploy("contract_review.bpmn")
    view = engine.start("contract_review", started_by="nurse", data={"requester": None,
                                                                     "withheld_from": ["discipline_office"]})
    jijian = _who(db, "jijian")
    with read_transaction(db) as conn:
        assert not can_view_instance(conn, jijian, view.id)
        assert recusal.excluded_instances(conn, jijian, [view.id]) == {view.id}
    assert sa is not None


def test_an_administrator_records_a_relation_in_the_administration_log(engine, db, people):
    from engine.db.schema import event
    from engine.org import admin_log, relations
    with pytest.raises(Invalid) as refused:
        relations.declare(engine, "nurse", "nurse", "配偶", by="admin")
    assert refused.value.problems[0].field == "related"
    relations.declare(engine, "nurse", "surgeon", "配偶", by="admin")
    assert relations.relations_page(engine, "surgeon")["relations"] == [
        {"username": "nurse", "name": "王护士", "relation": "配偶"}]
    with read_transaction(db) as conn:
        logged = conn.execute(sa.select(event.c.type, event.c.actor).where(event.c.chain == admin_log.ADMIN_CHAIN)).all()
    assert ("relation_declared", "admin") in [tuple(r) for r in logged]
