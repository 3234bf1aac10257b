"""Decision tables (DMN): deployed and versioned like processes, checked on deploy (hit policy, every
expression compiled by the sandbox), named by business rule tasks and evaluated by SpiffWorkflow."""
from __future__ import annotations

import pytest

from engine.bpmn import decisions
from engine.bpmn.validation import SourceFile
from engine.errors import Invalid
from engine.sandbox import check_source
from tests.conftest import DATA

pytestmark = pytest.mark.both_databases
APPROVER = (DATA / "dmn" / "disposal_approver.dmn").read_bytes()


def deploy_decision(engine, content: bytes = APPROVER, by: str = "owner") -> dict:
    return decisions.deploy(engine.db, engine.clock, content, "disposal_approver.dmn", deployed_by=by,
                            check_expression=check_source)


def test_a_decision_is_versioned_and_an_unchanged_file_makes_no_new_version(engine):
    assert deploy_decision(engine) == {"key": "disposal_approver", "version": 1, "created": True}
    assert deploy_decision(engine)["created"] is False
    changed = APPROVER.replace(b"\xe5\x85\xb6\xe4\xbb\x96\xe4\xba\xba\xe5\x91\x98", b"others")  # 其他人员 in a note
    assert deploy_decision(engine, changed) == {"key": "disposal_approver", "version": 2, "created": True}
    listed = decisions.listing(engine)
    assert [(d["decision_key"], d["version"], d["hit_policy"]) for d in listed] == \
        [("disposal_approver", 1, "UNIQUE"), ("disposal_approver", 2, "UNIQUE")]


def test_a_middle_manager_s_disposal_needs_the_leader_the_decision_says_so(engine, deploy):
    deploy_decision(engine)
    deploy("decide_approver.bpmn")
    middle = engine.start("decide_approver", started_by="alice", data={"position_level": "middle_manager"})
    other = engine.start("decide_approver", started_by="alice", data={"position_level": "other"})
    assert middle.status == "completed"
    assert engine.show(middle.id).data["needs_leader_approval"] is True
    assert engine.show(other.id).data["needs_leader_approval"] is False


def test_a_business_rule_task_naming_an_undeployed_decision_is_refused_at_deploy(engine, deploy):
    with pytest.raises(Invalid) as refused:
        deploy("decide_approver.bpmn")
    [problem] = [p for p in refused.value.problems if p.code == "unknown_decision"]
    assert problem.element_id == "decide" and "disposal_approver" in problem.message


@pytest.mark.parametrize("broken,code,said", [
    (b'hitPolicy="UNIQUE"', b'hitPolicy="PRIORITY"', "PRIORITY"),
    (b"<text>position_level</text>", b"<text>position_level ==</text>", "input"),
    (b"<text>True</text>", b"<text>__import__('os')</text>", "output"),
    (b'<text>"middle_manager" != ?</text>', b"<text>? ==== 1</text>", "condition"),
])
def test_a_broken_decision_is_refused_with_its_element_named(engine, broken, code, said):
    with pytest.raises(Invalid) as refused:
        deploy_decision(engine, APPROVER.replace(broken, code))
    messages = " ".join(p.message for p in refused.value.problems)
    assert said in messages
    assert all(p.element_id for p in refused.value.problems)
    assert decisions.listing(engine) == []


def test_each_evaluation_is_in_the_chain_with_inputs_matched_rule_and_output(engine, deploy):
    deploy_decision(engine)
    deploy("decide_approver.bpmn")
    iid = engine.start("decide_approver", started_by="alice", data={"position_level": "middle_manager"}).id
    [evaluated] = [e for e in engine.events(iid) if e["type"] == "decision_evaluated"]
    assert evaluated["element_id"] == "decide"
    data = evaluated["data"]
    assert data["decision"] == "disposal_approver v1"
    assert data["inputs"] == {"被反映人级别": "middle_manager"}
    assert [m["rule"] for m in data["matched"]] == ["Rule_middle"]
    assert "中层干部" in data["matched"][0]["description"]
    assert data["output"] == {"needs_leader_approval": True}
    from engine.runtime import replay
    assert replay.replay(engine, iid).ok                     # the audit replay reproduces the decision
