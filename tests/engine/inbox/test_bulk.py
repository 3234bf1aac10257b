"""Bulk actions in the inbox: the discipline office approves a list of monthly report reviews at
once; each is its own completion with its own event, and a failure is reported on its own line."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.errors import Invalid
from engine.inbox import bulk
from engine.org.people import signed_in as who      # the person, as a request's session names them

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]

FILLED = {"month": "2026-09-01", "progress": "完成了全科廉洁教育"}



@pytest.fixture
def reviews(engine, people):
    """Three monthly reports of 内科 filled in: three reviews waiting for the discipline office."""
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    found = []
    for month in (7, 8, 9):
        view = engine.start("monthly_report", started_by="jijian", business_key=f"2026-0{month} 内科",
                            data={"department": "neike", "department_name": "内科"})
        view = engine.complete_task(view.tasks[0].id, user="neike_head", data=FILLED)
        found.append(view.tasks[0])
    return found


def test_the_office_approves_several_reviews_at_once_each_its_own_completion(engine, reviews):
    office = who(engine, "jijian")
    engine.claim(reviews[2].id, user="jijian")
    results = bulk.run(engine, office, "complete", [r.id for r in reviews])
    assert [r.ok for r in results] == [True, True, True]
    for r in reviews:
        view = engine.show(r.instance_id)
        assert view.status == "completed" and view.data["accepted"] is True
        assert [e["type"] for e in engine.events(r.instance_id)].count("task_completed") == 2


def test_partial_failures_are_reported_per_task_and_the_others_are_done(engine, reviews, people):
    engine.claim(reviews[0].id, user="owner")          # a colleague holds the first
    office = who(engine, "jijian")
    results = bulk.run(engine, office, "claim", [r.id for r in reviews] + [reviews[1].id])
    assert [(r.ok, r.code) for r in results] == [(False, "task_claimed_by_other"), (True, None), (True, None)]
    assert results[0].name == reviews[0].name
    released = bulk.run(engine, office, "release", [reviews[1].id, reviews[2].id])
    assert all(r.ok for r in released) and engine.task(reviews[1].id).assignee is None


def test_a_form_that_declares_no_bulk_decision_is_refused_on_its_line(engine, people):
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    view = engine.start("monthly_report", started_by="jijian", data={"department": "neike", "department_name": "内科"})
    [result] = bulk.run(engine, who(engine, "neike_head"), "complete", [view.tasks[0].id])
    assert not result.ok and "不允许批量" in result.message
    with pytest.raises(Invalid):
        bulk.run(engine, who(engine, "neike_head"), "delete", [view.tasks[0].id])
    with pytest.raises(Invalid):
        bulk.run(engine, who(engine, "neike_head"), "claim", [])
