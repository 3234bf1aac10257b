"""What an operation sends to PostgreSQL: a start and a completion write everything — the new task's
message included — in one statement, which runs on its own (no BEGIN, no COMMIT round trip); the
reads it needs run ahead of it. (Counts of round trips, not timings.)"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.schema import notification
from engine.inbox import submission
from engine.org.people import Principal
from tests.helpers.round_trips import counting

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def verify_persistence() -> bool:
    return False      # its cold load after each commit would be counted too


def _notified(db) -> list:
    with db.connect() as conn:
        return conn.execute(sa.select(notification.c.task_id, notification.c.recipient_role)
                            .order_by(notification.c.id)).all()


def test_a_start_and_a_completion_each_write_in_one_statement_with_the_new_tasks_message(
        engine, deploy, db, monkeypatch):
    deploy("w1.bpmn")
    engine.start("w1_process", started_by="bench")       # the version is known to this node from here on
    with counting(monkeypatch) as sent:
        view = engine.start("w1_process", started_by="bench")
    fill = view.tasks[0].id
    # the whole write, the new task's notification in it (the people it reaches are read when its
    # messages are fanned out, off the operation: engine.messages.outbox.fan_out)
    assert [s.split()[0] for s in sent] == ["WITH"], sent
    assert _notified(db)[-1] == (fill, "LaneA")
    with counting(monkeypatch) as sent:
        view = engine.complete_task(fill, user="bench", data={"approved": True})
    # recusal and pending signatures in one read, then the whole write
    assert [s.split()[0] for s in sent] == ["SELECT", "WITH"], sent
    assert _notified(db)[-1] == (view.tasks[0].id, "LaneB")


def test_a_completion_from_the_inbox_reads_its_safeguards_once_for_the_page_and_the_engine(
        engine, deploy, monkeypatch):
    """The inbox asks "may this person work it" (recusal, pending signatures) ahead of the form, the
    engine asks again at its own door: both answers come from one read."""
    deploy("w1.bpmn")
    fill = engine.start("w1_process", started_by="bench", data={"approved": True}).tasks[0].id
    worker = Principal("bench", "基准", None, frozenset({"LaneA"}))
    with counting(monkeypatch) as sent:
        done = submission.submit(engine, worker, fill, {})
    assert done.instance.tasks[0].element_id == "review"
    assert [s.split()[0] for s in sent] == ["SELECT", "WITH"], sent


def test_an_uncached_instance_is_loaded_in_three_round_trips_not_five(engine, deploy, monkeypatch):
    """A completion of an instance this node has not cached (in production, most: each worker caches its
    own) loads it first: its row; then its task rows, open inbox rows and armed timers together (pipeline
    mode: one round trip); then the data of the tasks that need it."""
    deploy("w1.bpmn")
    fill = engine.start("w1_process", started_by="bench", data={"approved": True}).tasks[0].id
    engine.cache.clear()
    with counting(monkeypatch) as sent:
        engine.complete_task(fill, user="bench")

    def what(statement: str) -> tuple[bool, str]:
        words = statement.split()
        piped = words[0] == "PIPELINED"
        words = words[1:] if piped else words
        return piped, words[1].split(".")[0] if words[0] == "SELECT" else words[0]
    assert [what(s) for s in sent[:5]] == [
        (False, "process_instance"),
        (True, "instance_task"), (True, "human_task"), (True, "timer"),
        (False, "instance_task")], sent
    # then what a completion of a cached instance sends: its safeguards, the write
    assert [what(s) for s in sent[5:]] == [(False, "'recusal'"), (False, "WITH")], sent


def test_the_schedulers_tick_writes_a_batch_of_messages_reading_each_recipient_once(engine, deploy, db,
                                                                                   monkeypatch):
    """The new tasks' notifications of five starts, all for the same lane: their messages are written
    together — the batch, the lane's holders once, the messages in one statement, the marks."""
    from engine.db.transactions import write_transaction
    from engine.messages import outbox
    deploy("w1.bpmn")
    for _ in range(5):
        engine.start("w1_process", started_by="bench")
    with counting(monkeypatch) as sent:
        with write_transaction(db) as conn:
            assert outbox.fan_out(conn, engine.clock.now()) == 5
    assert [s.split()[0] for s in sent] == ["BEGIN", "SELECT", "SELECT", "UPDATE", "COMMIT"], sent
