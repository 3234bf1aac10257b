"""Moving running instances to a newer version: the safety rule (a pure function over two versions'
specs and where the instance is), and the migration itself (one transaction, an event, a sound chain)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.audit import verify as audit
from engine.runtime import migration as instance_migration
from engine.bpmn import migration_rule
from engine.errors import Conflict
from engine.db.schema import event, process_instance
from engine.bpmn.validation import SourceFile, validate_bundle

pytestmark = pytest.mark.both_databases

COMPLETED, WAITING = migration_rule.COMPLETED, migration_rule.WAITING


def diagram(*, insert_check: bool = False, fill_type: str = "userTask", fill_name: str = "填报",
            fill_due: str | None = None, review_due: str | None = None, review_lane: str = "LaneB") -> bytes:
    """start → fill (LaneA) → [check (LaneA)] → review (review_lane) → end, with the variations asked for."""
    def props(due):
        return ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="dueIn" '
                f'value="{due}" /></spiffworkflow:properties></bpmn:extensionElements>') if due else ""
    after_fill = "check" if insert_check else "review"
    check = ('<bpmn:userTask id="check" name="核对"><bpmn:incoming>f_fill_next</bpmn:incoming>'
             '<bpmn:outgoing>f_check_review</bpmn:outgoing></bpmn:userTask>'
             '<bpmn:sequenceFlow id="f_check_review" sourceRef="check" targetRef="review" />') if insert_check else ""
    into_review = "f_check_review" if insert_check else "f_fill_next"
    lane_b = "" if review_lane == "LaneA" else '<bpmn:lane id="Lane_B" name="LaneB"><bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>'
    lane_a_extra = "<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>" if review_lane == "LaneA" else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="two_step" name="两步" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="Lane_A" name="LaneA"><bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef>
        {"<bpmn:flowNodeRef>check</bpmn:flowNodeRef>" if insert_check else ""}{lane_a_extra}</bpmn:lane>
      {lane_b}
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f_start_fill</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{fill_type} id="fill" name="{fill_name}">{props(fill_due)}<bpmn:incoming>f_start_fill</bpmn:incoming>
      <bpmn:outgoing>f_fill_next</bpmn:outgoing></bpmn:{fill_type}>
    {check}
    <bpmn:userTask id="review" name="审核">{props(review_due)}<bpmn:incoming>{into_review}</bpmn:incoming>
      <bpmn:outgoing>f_review_end</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f_review_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_start_fill" sourceRef="start" targetRef="fill" />
    <bpmn:sequenceFlow id="f_fill_next" sourceRef="fill" targetRef="{after_fill}" />
    <bpmn:sequenceFlow id="f_review_end" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def specs(**variation) -> dict:
    bundle = validate_bundle([SourceFile("two_step.bpmn", diagram(**variation))], form_exists=lambda k: True,
                             role_for_lane=lambda name: name, process_deployed=lambda k: False)
    proc = bundle.processes["two_step"]
    return migration_rule.specs_as_dicts(proc.spec, proc.subprocess_specs)


AT_FILL = {("two_step", "Start"): COMPLETED, ("two_step", "start"): COMPLETED, ("two_step", "fill"): WAITING}
AT_REVIEW = {**AT_FILL, ("two_step", "fill"): COMPLETED, ("two_step", "review"): WAITING}


def elements(found) -> set[str]:
    return {o.element_id for o in found}


# -- the rule ---------------------------------------------------------------------------------------------
def test_a_step_inserted_ahead_of_an_instance_lets_it_move():
    assert migration_rule.obstacles(specs(), specs(insert_check=True), AT_FILL) == []


def test_a_step_inserted_behind_an_instance_is_refused_naming_the_elements_it_changed():
    found = migration_rule.obstacles(specs(), specs(insert_check=True), AT_REVIEW)
    assert elements(found) == {"fill", "review"}
    reasons = {o.element_id: o.reason for o in found}
    assert "outgoing flows changed" in reasons["fill"] and "completed" in reasons["fill"]
    assert "incoming flows changed" in reasons["review"] and "waiting at" in reasons["review"]


def test_a_changed_deadline_ahead_is_safe_but_not_on_the_task_the_instance_waits_at():
    assert migration_rule.obstacles(specs(), specs(review_due="working_days(3)"), AT_FILL) == []
    found = migration_rule.obstacles(specs(), specs(review_due="working_days(3)"), AT_REVIEW)
    assert elements(found) == {"review"} and "extensions" in found[0].reason


def test_renaming_a_completed_task_does_not_block_a_migration():
    assert migration_rule.obstacles(specs(), specs(fill_name="填写月报"), AT_REVIEW) == []


def test_a_completed_task_whose_type_changed_is_refused():
    found = migration_rule.obstacles(specs(), specs(fill_type="manualTask"), AT_REVIEW)
    assert elements(found) == {"fill"} and "type changed" in found[0].reason


def test_a_task_removed_from_the_new_version_is_refused_when_the_instance_was_there():
    old = specs(insert_check=True)
    at_check = {**AT_FILL, ("two_step", "fill"): COMPLETED, ("two_step", "check"): WAITING}
    found = migration_rule.obstacles(old, specs(), at_check)
    assert "check" in elements(found)
    assert any("removed" in o.reason for o in found if o.element_id == "check")


def test_an_identical_version_is_always_safe():
    assert migration_rule.obstacles(specs(), specs(), AT_REVIEW) == []


# -- the migration ----------------------------------------------------------------------------------------
@pytest.fixture
def two_step(engine):
    def deploy(**variation):
        return engine.deploy([SourceFile("two_step.bpmn", diagram(**variation))], deployed_by="owner")[0]
    return deploy


def _fill_task(engine, instance_id):
    return next(t for t in engine.show(instance_id).tasks if t.element_id == "fill" and t.status == "open")


def test_an_instance_moves_to_a_version_that_changes_only_what_lies_ahead(engine, two_step, db):
    two_step()
    inst = engine.start("two_step", started_by="owner")
    v2 = two_step(insert_check=True)
    assert engine.show(inst.id).version == 1                      # running instances stay on their version
    verdict = instance_migration.assess(engine, inst.id)
    assert verdict.safe and (verdict.from_version, verdict.to_version) == (1, v2.version)

    instance_migration.migrate(engine, inst.id, actor="owner")
    assert engine.show(inst.id).version == 2
    engine.complete_task(_fill_task(engine, inst.id).id, user="owner")
    assert [t.element_id for t in engine.show(inst.id).tasks if t.status == "open"] == ["check"]  # the new step
    with db.connect() as conn:
        moved = conn.execute(sa.select(event.c.actor, event.c.data_json).where(
            event.c.chain == inst.id, event.c.type == "instance_migrated")).one()
    assert moved.actor == "owner" and '"to_version":2' in moved.data_json
    checked, breaks = audit.verify(engine.db)
    assert checked > 0 and breaks == []                           # the hash chain still verifies
    assert audit.verify_report(engine.db).ok
    from engine.runtime import replay
    assert replay.replay(engine, inst.id).ok                      # its history still replays


def test_an_unsafe_migration_is_refused_with_the_reason_and_changes_nothing(engine, two_step, db):
    two_step()
    inst = engine.start("two_step", started_by="owner")
    engine.complete_task(_fill_task(engine, inst.id).id, user="owner")
    two_step(insert_check=True)
    with db.connect() as conn:
        before = conn.execute(sa.select(process_instance.c.revision, process_instance.c.event_seq)
                              .where(process_instance.c.id == inst.id)).one()
    with pytest.raises(instance_migration.MigrationRefused) as refused:
        instance_migration.migrate(engine, inst.id, actor="owner")
    assert {o.element_id for o in refused.value.obstacles} == {"fill", "review"}
    assert "fill" in refused.value.message
    with db.connect() as conn:
        after = conn.execute(sa.select(process_instance.c.revision, process_instance.c.event_seq)
                             .where(process_instance.c.id == inst.id)).one()
    assert after == before and engine.show(inst.id).version == 1
    engine.complete_task(next(t for t in engine.show(inst.id).tasks if t.status == "open").id, user="owner")
    assert engine.show(inst.id).status == "completed"              # it finishes on its own version


def test_migrating_to_the_same_or_an_older_version_is_refused(engine, two_step):
    two_step()
    inst = engine.start("two_step", started_by="owner")
    with pytest.raises(Conflict, match="更新的版本"):
        instance_migration.migrate(engine, inst.id, actor="owner")
