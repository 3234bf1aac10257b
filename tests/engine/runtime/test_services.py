"""Service tasks, completion guards and side effects in the operation's transaction: what campaign and
clue diagrams use to hand out department work and to refuse closing a phase too early."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from engine.runtime import connectors
from engine import permissions
from engine.errors import Invalid
from engine.org.people import Principal
from engine.db.schema import event, process_instance
from engine.bpmn.validation import SourceFile
from engine.deadlines.workdays import BEIJING

pytestmark = pytest.mark.both_databases


def _start(engine, departments=("neike", "waike"), key="dept_work"):
    return engine.start("spawner", started_by="jijian", business_key="2026 专项整治",
                        data={"departments": list(departments), "deadline": "2026-09-30", "child_process": key})


def _children(db, parent_id):
    with db.connect() as conn:
        return conn.execute(sa.select(process_instance).where(process_instance.c.parent_id == parent_id)
                            .order_by(process_instance.c.business_key)).all()


def test_a_service_task_starts_one_child_instance_per_department_in_the_same_commit(engine, deploy, db):
    deploy("spawner.bpmn")
    view = _start(engine)
    children = _children(db, view.id)
    assert [c.business_key for c in children] == ["work neike", "work waike"]
    assert view.data["children"] == [c.id for c in children]      # in the order of the items
    child = engine.show(children[0].id)
    assert child.data["parent_instance_id"] == view.id and child.data["department"] == "neike"
    assert child.data["deadline"] == "2026-09-30"
    # the child's department task is due 2 working days after the date given (National Day lies between)
    work = child.tasks[0]
    due = work.due_at.astimezone(BEIJING)
    assert due == datetime(2026, 10, 10, 0, 0, tzinfo=BEIJING)   # 10-08 and 10-09 are the two working days
    started = [e for e in engine.events(child.id) if e["type"] == "instance_started"]
    assert started[0]["data"]["parent_id"] == view.id


def test_the_phase_change_is_an_event_of_the_campaign_instance(engine, deploy):
    deploy("spawner.bpmn")
    view = _start(engine)
    changes = [e for e in engine.events(view.id) if e["type"] == "phase_changed"]
    assert [c["data"]["phase"] for c in changes] == ["mobilization"]
    assert changes[0]["data"]["until"] == "2026-09-30"


def test_closing_is_refused_while_department_work_is_open_and_names_it(engine, deploy):
    deploy("spawner.bpmn")
    view = _start(engine)
    close = view.tasks[0]
    with pytest.raises(Invalid) as refused:
        engine.complete_task(close.id, user="jijian")
    assert "work neike" in refused.value.problems[0].message and "2" in refused.value.problems[0].message
    for child in _children(engine.db, view.id):
        engine.complete_task(engine.show(child.id).tasks[0].id, user="someone")
    done = engine.complete_task(close.id, user="jijian")
    assert done.status == "completed"


def test_the_due_time_is_the_end_of_the_deadline_day_in_beijing(engine, deploy):
    deploy("spawner.bpmn")
    close = _start(engine).tasks[0]
    assert close.due_at == datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)


def test_a_failing_child_start_leaves_nothing_behind(engine, deploy, db):
    deploy("spawner.bpmn")
    def counts():
        with db.connect() as conn:
            return [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in (process_instance, event)]
    before = counts()
    with pytest.raises(Exception) as failed:
        _start(engine, key="no_such_process")
    assert "no_such_process" in str(failed.value)
    assert counts() == before


def test_within_runs_in_the_transaction_and_its_failure_rolls_the_start_back(engine, deploy, db):
    deploy("parallel.bpmn")
    seen = []
    view = engine.start("parallel", started_by="a", within=lambda conn, iid: seen.append(
        conn.execute(sa.select(process_instance.c.id).where(process_instance.c.id == iid)).scalar()))
    assert seen == [view.id]

    def refuse(conn, iid):
        raise Invalid([connectors.Problem("举报人信息无法保存", field="reporter")])
    with pytest.raises(Invalid):
        engine.start("parallel", started_by="a", within=refuse)
    with pytest.raises(Invalid):
        engine.complete_task(view.tasks[0].id, user="a", prepare=refuse)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar() == 1
    assert engine.show(view.id).tasks[0].status == "open"


def test_prepare_writes_in_the_completion_before_the_task_runs_and_its_data_is_submitted(engine, deploy, db):
    deploy("parallel.bpmn")
    view = engine.start("parallel", started_by="a")
    task_id = view.tasks[0].id

    def prepare(conn, iid):      # a write of its own, then data naming it
        conn.execute(event.delete().where(event.c.id == -1))
        return {"receipt": iid[:8], "note": "prepared"}
    done = engine.complete_task(task_id, user="a", data={"note": "typed", "kept": 1}, prepare=prepare)
    assert [t.status for t in done.tasks if t.id == task_id] == []
    completed = [e for e in engine.events(view.id) if e["type"] == "task_completed"]
    assert [e["data"]["data"] for e in completed] == [{"note": "prepared", "kept": 1, "receipt": view.id[:8]}]


def test_deploy_refuses_an_operator_or_guard_the_engine_does_not_provide(engine):
    xml = (bpmn_dir() / "spawner.bpmn").read_text()
    xml = xml.replace('serviceTaskOperator id="start_instances"', 'serviceTaskOperator id="os_system"')
    xml = xml.replace('value="children_done"', 'value="always_yes"')
    with pytest.raises(Invalid) as refused:
        engine.deploy([SourceFile("bad.bpmn", xml.encode())], deployed_by="owner")
    codes = {(p.code, p.element_id) for p in refused.value.problems}
    assert ("unknown_service", "hand_out") in codes and ("unknown_guard", "close") in codes


def test_a_confidential_process_is_seen_by_its_starter_and_the_roles_it_names_only(engine, db):
    xml = (bpmn_dir() / "parallel.bpmn").read_text().replace(
        '<bpmn:laneSet id="ls">', '<bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="confidential" value="discipline_office" />'
        '<spiffworkflow:property name="startableBy" value="staff" />'
        '</spiffworkflow:properties></bpmn:extensionElements><bpmn:laneSet id="ls">')
    engine.deploy([SourceFile("secret.bpmn", xml.encode())], deployed_by="owner")
    info = engine.process_info("parallel")
    assert info.confidential == {"discipline_office"} and info.startable_by == {"staff"}
    view = engine.start("parallel", started_by="nurse")

    def who(username, *roles):
        return Principal(username, username, "neike", frozenset(roles))
    with db.connect() as conn:
        assert permissions.can_view_instance(conn, who("nurse", "staff"), view.id)
        assert permissions.can_view_instance(conn, who("jijian", "staff", "discipline_office"), view.id)
        for role in ("auditor", "admin", "department_head"):
            assert not permissions.can_view_instance(conn, who("x", "staff", role), view.id)
    assert permissions.can_start(who("nurse", "staff"), info)
    task = engine.task(view.tasks[0].id)
    assert task.confidential == "discipline_office"
    assert permissions.can_view(who("jijian", "staff", "discipline_office"), task)
    for role in ("auditor", "admin", "LaneA"):
        assert not permissions.can_view(who("x", "staff", role), task)


def bpmn_dir():
    from tests.conftest import DATA
    return DATA / "bpmn"


def test_a_callers_check_runs_in_the_completion_and_its_refusal_changes_nothing(engine, deploy, db):
    """`complete_task(check=)`: the caller's own checks see the task's inbox row (and what the safeguards
    read) inside the completion's transaction; a refusal leaves the instance as it was, still cached (not rebuilt from its rows),
    and the data the check returns is what the task completes with."""
    from engine.errors import Forbidden
    from engine.db.schema import instance_task
    deploy("call_activity.bpmn")
    view = engine.start("main", started_by="alice")
    [inside] = view.tasks
    seen, reads = [], []

    def refuse(conn, row, reads):
        seen.append((row.id, row.status, reads.pending_signers))
        raise Forbidden("not yours")

    def statement(conn, cursor, text, *_args):
        if instance_task.name in text and text.lstrip().upper().startswith("SELECT"):
            reads.append(text)
    sa.event.listen(db, "before_cursor_execute", statement)
    try:
        with pytest.raises(Forbidden, match="not yours"):
            engine.complete_task(inside.id, user="alice", check=refuse)
    finally:
        sa.event.remove(db, "before_cursor_execute", statement)
    assert seen[0] == (inside.id, "open", ()) and reads == []
    assert engine.task(inside.id).status == "open"
    view = engine.complete_task(inside.id, user="alice", check=lambda conn, row, reads: {"answer": 41})
    assert view.tasks[0].element_id == "after" and view.data["y"] == 42
