"""Hole 8: comments, attachments (by their content's SHA-256) and reporters' identity rows are under
the hash chain: editing, deleting or slipping in such a row behind the application's back is found
by `audit verify`."""
from __future__ import annotations

import pytest

from engine.audit import verify as audit
from engine.db.schema import attachment, clue_reporter, task_comment
from engine.db.transactions import write_transaction
from engine.inbox import attachments, comments

pytestmark = pytest.mark.both_databases


@pytest.fixture
def instance(engine, deploy, clock):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    with write_transaction(engine.db) as conn:
        comments.add(conn, instance_id=view.id, task_id=None, author="alice", body="请核实", now=clock.now())
        attachments.store(conn, instance_id=view.id, task_id=None, filename="证据.pdf", data=b"%PDF-1.4 evidence",
                          user="alice", now=clock.now())
        conn.execute(clue_reporter.insert().values(instance_id=view.id, name_token="t1", contact_token="t2",
                                                   created_at=clock.now()))
    return view.id


def _reasons(db) -> list[str]:
    return [b.reason for b in audit.verify(db)[1]]


def test_untouched_rows_verify(engine, instance):
    reasons = _reasons(engine.db)
    # the reporter row above was written behind the application's back: found; the rest verifies
    assert reasons == [f"the reporter {instance} has no event: added behind the application's back"]


@pytest.mark.parametrize("tamper, expected", [
    (lambda conn: conn.execute(task_comment.update().values(body="无异常")), "the comment 1 differs"),
    (lambda conn: conn.execute(task_comment.delete()), "the comment 1 was deleted"),
    (lambda conn: conn.execute(attachment.update().values(content=b"%PDF-1.4 forged")), "the attachment 1 differs"),
])
def test_an_edited_or_deleted_row_is_found(engine, instance, tamper, expected):
    with engine.db.begin() as conn:
        tamper(conn)
    assert any(r.startswith(expected) for r in _reasons(engine.db)), _reasons(engine.db)


def test_a_stored_reporter_row_is_recorded_and_an_edit_found(engine, deploy, clock):
    from engine.clues.confidential import ReporterVault, store_reporter
    from cryptography.fernet import Fernet
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    vault = ReporterVault(Fernet.generate_key().decode())
    with write_transaction(engine.db) as conn:
        store_reporter(conn, vault, view.id, "张三", "13800000000", clock.now())
    assert _reasons(engine.db) == []
    with engine.db.begin() as conn:
        conn.execute(clue_reporter.update().values(contact_token=vault.seal("13900000000")))
    assert _reasons(engine.db) == [f"the reporter {view.id} differs from what was recorded (edited)"]
