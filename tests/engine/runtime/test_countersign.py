"""会签 / 或签: a multi-instance approval whose completion condition counts the signatures (all must
approve, any one suffices, or a ratio), each signer's task assigned to them, and every opinion in the
next step's data — across cold loads, on both databases, replayable."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.bpmn.validation import SourceFile
from engine.db.schema import human_task
from engine.runtime.replay import replay
from tests.conftest import bpmn

pytestmark = pytest.mark.both_databases

ALL = 'not opinion["agree"]'                                   # 会签: done at the first refusal
ANY = 'opinion["agree"]'                                       # 或签
RATIO = 'len([s for s in signatures if s["agree"]]) &gt;= 0.6 * total_signers'


def _deploy(engine, rule):
    xml = bpmn("countersign.bpmn").replace(b"RULE", rule.encode())
    engine.deploy([SourceFile("countersign.bpmn", xml)], deployed_by="owner")


def _sign(engine, view, who, agree, note=""):
    task = next(t for t in view.tasks if t.assignee == who)
    return engine.complete_task(task.id, user=who, data={"opinion": {"agree": agree, "note": note, "by": who}})


def _statuses(db, instance_id):
    with db.connect() as conn:
        return sorted((r.assignee, r.status) for r in conn.execute(
            sa.select(human_task).where(human_task.c.instance_id == instance_id, human_task.c.element_id == "sign")))


def test_countersign_every_signer_gets_a_task_and_all_opinions_reach_the_next_step(engine, deploy, db):
    _deploy(engine, ALL)
    view = engine.start("countersign", started_by="jijian", data={"signers": ["wang", "li", "zhao"]})
    assert sorted(t.assignee for t in view.tasks) == ["li", "wang", "zhao"]
    assert {t.name for t in view.tasks} == {"会签：wang", "会签：li", "会签：zhao"}
    view = _sign(engine, view, "li", True, "同意")
    engine.cache.clear()
    view = _sign(engine, engine.show(view.id), "wang", True, "同意，注意时限")
    view = _sign(engine, view, "zhao", True)
    [decide] = view.tasks
    assert decide.element_id == "decide"
    assert [o["by"] for o in view.data["opinions"]] == ["li", "wang", "zhao"]   # in the order they signed
    assert view.data["opinions"][1]["note"] == "同意，注意时限"
    assert replay(engine, view.id).ok


def test_countersign_ends_at_the_first_refusal(engine, deploy, db):
    _deploy(engine, ALL)
    view = engine.start("countersign", started_by="jijian", data={"signers": ["wang", "li", "zhao"]})
    view = _sign(engine, view, "li", False, "证据不足")
    assert [t.element_id for t in view.tasks] == ["decide"]
    assert _statuses(db, view.id) == [("li", "completed"), ("wang", "cancelled"), ("zhao", "cancelled")]


def test_or_sign_one_approval_suffices(engine, deploy, db):
    _deploy(engine, ANY)
    view = engine.start("countersign", started_by="jijian", data={"signers": ["wang", "li"]})
    view = _sign(engine, view, "wang", False)
    assert len(view.tasks) == 1 and view.tasks[0].assignee == "li"
    view = _sign(engine, view, "li", True)
    assert [t.element_id for t in view.tasks] == ["decide"]
    assert replay(engine, view.id).ok


def test_a_ratio_passes_once_enough_signers_approve(engine, deploy, db):
    _deploy(engine, RATIO)
    view = engine.start("countersign", started_by="jijian", data={"signers": ["a", "b", "c", "d", "e"]})
    view = _sign(engine, view, "a", True)
    view = _sign(engine, view, "b", False)
    view = _sign(engine, view, "c", True)
    engine.cache.clear()
    view = _sign(engine, engine.show(view.id), "d", True)          # 3 of 5 approve: 60 %
    assert [t.element_id for t in view.tasks] == ["decide"]
    assert _statuses(db, view.id)[-1] == ("e", "cancelled")
    assert replay(engine, view.id).ok
