"""催办 (urge) and 抄送 (copy to, with read receipt), on the shipped monthly report: the discipline
office starts it for 内科, whose head fills it in."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.db.schema import notification
from engine.errors import Forbidden, Invalid, NotFound, TaskNotReady
from engine.inbox import copies, urging
from engine.runtime.replay import replay
from engine.org.people import signed_in as who      # the person, as a request's session names them

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]


@pytest.fixture
def task(engine, people):
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                        data={"department": "neike", "department_name": "内科"})
    return view.tasks[0]



def _notes(db, kind):
    with db.connect() as conn:
        return conn.execute(sa.select(notification).where(notification.c.kind == kind)).all()


def test_the_office_urges_the_holder_with_a_message_and_the_urges_are_counted(engine, task, db):
    engine.claim(task.id, user="neike_head")
    done = urging.urge(engine, who(engine, "jijian"), task.id, "月报明天截止，请今日提交")
    assert done["urges"] == 1
    [note] = _notes(db, "urge")
    assert note.recipient_user == "neike_head" and "月报明天截止" in note.body and "陈纪检" in note.body
    assert urging.urge(engine, who(engine, "jijian"), task.id, "")["urges"] == 2   # a default message
    events = [e for e in engine.events(task.instance_id) if e["type"] == "task_urged"]
    assert [e["data"]["message"] for e in events] == ["月报明天截止，请今日提交", "请尽快办理"]
    assert replay(engine, task.instance_id).ok


def test_only_the_office_or_the_department_head_urges_and_only_open_tasks(engine, task):
    with pytest.raises(Forbidden):
        urging.urge(engine, who(engine, "nurse"), task.id, "快点")
    with pytest.raises(Forbidden):
        urging.urge(engine, who(engine, "waike_head"), task.id, "快点")
    unclaimed = urging.urge(engine, who(engine, "neike_head"), task.id, "请本科室尽快填报")
    assert unclaimed["urges"] == 1
    with pytest.raises(Invalid):
        urging.urge(engine, who(engine, "jijian"), task.id, "长" * 501)
    engine.complete_task(task.id, user="neike_head", data={"month": "2026-09-01", "progress": "完成"})
    with pytest.raises(TaskNotReady):
        urging.urge(engine, who(engine, "jijian"), task.id, "快点")


def test_a_copy_reaches_a_colleague_read_only_and_its_reading_is_the_receipt(engine, task, db):
    engine.claim(task.id, user="neike_head")
    head = who(engine, "neike_head")
    with pytest.raises(Invalid) as refused:
        copies.copy(engine, head, task.id, ["ghost", "neike_head"])
    assert {p.code for p in refused.value.problems} == {"unknown_staff", "self"}
    sent = copies.copy(engine, head, task.id, ["nurse", "surgeon"], "请知悉本月整改情况")
    assert [(c["recipient"], c["read_at"]) for c in sent] == [("nurse", None), ("surgeon", None)]
    nurse = who(engine, "nurse")
    [mine] = copies.mine(engine, nurse)
    assert mine["message"] == "请知悉本月整改情况" and mine["task"].name == task.name
    page = copies.open_copy(engine, nurse, mine["id"])
    assert page.copy["read_at"] is not None and page.instance.id == task.instance_id
    copies.open_copy(engine, nurse, mine["id"])           # a second reading is no second receipt
    types = [e["type"] for e in engine.events(task.instance_id)]
    assert types.count("task_copied") == 1 and types.count("copy_read") == 1
    with pytest.raises(NotFound):                         # another person's copy
        copies.open_copy(engine, who(engine, "surgeon"), mine["id"])
    assert replay(engine, task.instance_id).ok


def test_a_colleague_who_may_not_work_the_task_cannot_copy_it(engine, task):
    with pytest.raises(Forbidden):
        copies.copy(engine, who(engine, "auditor"), task.id, ["nurse"])
