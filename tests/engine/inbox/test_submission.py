"""Submitting a task's form: a completion stores its files, completes the task and discards the
draft in one transaction, or does none of it.

The subject is 内科's monthly report, filled in by the department's head with a supporting PDF.
"""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage, MultiDict

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.db.schema import attachment, task_draft
from engine.db.transactions import read_transaction
from engine.errors import Forbidden, Invalid, TaskAlreadyCompleted
from engine.inbox import submission
from engine.org.people import principal

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]

REFUSING_GUARD = "test_report_needs_the_leaders_signature"


def _refuse(ctx):
    if "签字" not in (ctx.submitted.get("progress") or ""):
        raise Invalid("月报须经科室负责人签字")


def _deploy(engine, *, guard: bool):
    xml = (PROJECT_ROOT / "processes" / "monthly_report.bpmn").read_text(encoding="utf-8")
    if guard:
        engine.connectors.add_guard(REFUSING_GUARD, _refuse)
        xml = xml.replace('<spiffworkflow:property name="formKey" value="monthly_report" />',
                          '<spiffworkflow:property name="formKey" value="monthly_report" />'
                          f'<spiffworkflow:property name="completionGuard" value="{REFUSING_GUARD}" />')
    engine.deploy([SourceFile("monthly_report.bpmn", xml.encode())], deployed_by="owner")
    return _start(engine)


def _start(engine):
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                        data={"department": "neike", "department_name": "内科"})
    return view.tasks[0].id


def _head(db):
    with read_transaction(db) as conn:
        return principal(conn, "neike_head")


def _post(progress: str) -> MultiDict:
    return MultiDict([("month", "2026-09-01"), ("progress", progress)])


def _pdf() -> MultiDict:
    return MultiDict([("attachments", FileStorage(io.BytesIO(b"%PDF-1.4 minutes"), filename="会议记录.pdf",
                                                  content_type="application/pdf"))])


def _stored(db) -> tuple[list, list]:
    with read_transaction(db) as conn:
        return (conn.execute(sa.select(attachment.c.id, attachment.c.task_id, attachment.c.filename)).all(),
                conn.execute(sa.select(task_draft.c.data_json)).scalars().all())


def test_a_completion_refused_by_its_guard_stores_no_file_and_keeps_the_draft(engine, db, people):
    task_id = _deploy(engine, guard=True)
    head = _head(db)
    submission.submit(engine, head, task_id, _post("草稿"), action=submission.SAVE_DRAFT)
    before = _stored(db)
    with pytest.raises(Invalid, match="签字"):
        submission.submit(engine, head, task_id, _post("完成了全科廉洁教育"), _pdf())
    assert _stored(db) == before and before[0] == [] and len(before[1]) == 1
    assert engine.task(task_id).status == "open"


def test_a_completion_whose_commit_fails_stores_no_file_and_keeps_the_draft(engine, db, people):
    task_id = _deploy(engine, guard=False)
    head = _head(db)
    submission.submit(engine, head, task_id, _post("草稿"), action=submission.SAVE_DRAFT)

    def the_connection_drops(instance_id):
        raise RuntimeError("the connection dropped before the commit")
    engine.before_commit = the_connection_drops
    with pytest.raises(RuntimeError):
        submission.submit(engine, head, task_id, _post("完成了全科廉洁教育"), _pdf())
    engine.before_commit = None
    files, kept = _stored(db)
    assert files == [] and len(kept) == 1 and engine.task(task_id).status == "open"


def test_a_completion_stores_its_file_completes_the_task_and_discards_the_draft_together(engine, db, people):
    task_id = _deploy(engine, guard=True)
    head = _head(db)
    submission.submit(engine, head, task_id, _post("草稿"), action=submission.SAVE_DRAFT)
    done = submission.submit(engine, head, task_id, _post("已签字：完成了全科廉洁教育"), _pdf())
    files, kept = _stored(db)
    assert [(f.task_id, f.filename) for f in files] == [(task_id, "会议记录.pdf")] and kept == []
    assert engine.task(task_id).status == "completed"
    assert done.instance.data["attachments"] == [str(files[0].id)]
    # the next report's file gets an id of its own
    submission.submit(engine, head, _start(engine), _post("已签字"), _pdf())
    assert len({f.id for f in _stored(db)[0]}) == 2


def test_a_completion_is_one_transaction_its_checks_and_form_lookups_included(engine, db, people):
    """Who may, the pending signatures, the form's lookups and the completion itself: one
    connection, one transaction (on SQLite one write lock, taken once)."""
    task_id = _deploy(engine, guard=False)
    head = _head(db)
    engine.uow.verify_persistence = False       # the tests' own cold reload after the commit
    connections, begins = set(), []

    def statement(conn, *_args):
        connections.add(id(conn.connection.dbapi_connection))

    def begin(conn):
        begins.append(conn)
    sa.event.listen(db, "before_cursor_execute", statement)
    sa.event.listen(db, "begin", begin)
    try:
        done = submission.submit(engine, head, task_id, _post("完成了全科廉洁教育"), _pdf())
    finally:
        sa.event.remove(db, "before_cursor_execute", statement)
        sa.event.remove(db, "begin", begin)
    assert done.instance.data["progress"] == "完成了全科廉洁教育" and done.task.id == task_id
    assert len(connections) == 1 and len(begins) == 1


def test_a_form_at_fault_is_refused_with_what_was_typed_and_stores_nothing(engine, db, people):
    task_id = _deploy(engine, guard=False)
    with pytest.raises(submission.FormRejected) as refused:
        submission.submit(engine, _head(db), task_id, MultiDict([("progress", "完成")]), _pdf())
    assert "month" in refused.value.submission.errors and refused.value.submission.values["progress"] == "完成"
    assert _stored(db) == ([], [])


def test_after_a_refused_form_the_task_is_completed_with_the_corrected_one(engine, db, people):
    task_id = _deploy(engine, guard=False)
    head = _head(db)
    with pytest.raises(submission.FormRejected):
        submission.submit(engine, head, task_id, MultiDict([("progress", "完成")]))
    done = submission.submit(engine, head, task_id, _post("完成了全科廉洁教育"))
    assert done.instance.data["progress"] == "完成了全科廉洁教育"
    assert engine.task(task_id).status == "completed" and engine.task(task_id).completed_by == "neike_head"


def test_only_the_person_whose_task_it_is_may_submit_it(engine, db, people):
    task_id = _deploy(engine, guard=False)
    with read_transaction(db) as conn:
        nurse = principal(conn, "nurse")
    with pytest.raises(Forbidden):
        submission.submit(engine, nurse, task_id, _post("完成"))
    head = _head(db)
    submission.submit(engine, head, task_id, _post("完成"))
    with pytest.raises(TaskAlreadyCompleted):
        submission.submit(engine, head, task_id, _post("完成"))
