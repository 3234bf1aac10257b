"""The audit search shows each person the instances they may see, decided for the whole page at once."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.audit import timeline
from engine.bpmn.validation import SourceFile
from engine.db.schema import human_task
from engine.errors import NotFound
from engine.org.people import Principal
from tests.conftest import bpmn

pytestmark = pytest.mark.both_databases

AUDITOR = Principal("shenji", "周审计", None, frozenset({"auditor"}))
STRANGER = Principal("eve", "Eve", None, frozenset({"staff"}))


@pytest.fixture
def started(engine, deploy):
    deploy("w1.bpmn", "three_ends.bpmn")
    return [engine.start("w1_process", started_by="alice").id for _ in range(6)]


@pytest.fixture
def statements(db):
    """The SQL the database is sent while the test runs."""
    seen = []

    def note(*args):
        seen.append(args[2])
    sa.event.listen(db, "before_cursor_execute", note)
    yield seen
    sa.event.remove(db, "before_cursor_execute", note)


def test_the_audit_search_asks_the_database_the_same_few_questions_however_many_rows(engine, db, started, statements):
    seen = statements
    found = timeline.search(engine, AUDITOR)
    assert {r.id for r in found["rows"]} == set(started)
    # the rows, the versions, the recusals (回避) of what was found
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 3
    seen.clear()
    assert timeline.search(engine, STRANGER)["rows"] == []
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 3     # the tasks, once; nothing seen


def test_a_confidential_process_is_searched_only_by_its_starter_and_the_roles_it_names(engine, started):
    xml = bpmn("w1.bpmn").decode().replace(
        '<bpmn:process id="w1_process" name="W1 fill/review" isExecutable="true">',
        '<bpmn:process id="w1_process" name="W1 fill/review" isExecutable="true"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="confidential" value="discipline_office" />'
        '</spiffworkflow:properties></bpmn:extensionElements>')
    engine.deploy([SourceFile("w1.bpmn", xml.encode())], deployed_by="admin")
    secret = [engine.start("w1_process", started_by="alice").id for _ in range(2)]
    assert {r.id for r in timeline.search(engine, AUDITOR)["rows"]} == set(started)
    office = Principal("jijian", "陈纪检", None, frozenset({"discipline_office"}))
    assert {r.id for r in timeline.search(engine, office)["rows"]} == set(started + secret)
    alice = Principal("alice", "Alice", None, frozenset({"staff"}))
    assert {r.id for r in timeline.search(engine, alice)["rows"]} == set(started + secret)
    with pytest.raises(NotFound):
        timeline.header(engine, AUDITOR, secret[0])


def test_someone_who_holds_a_task_of_an_instance_finds_that_instance_only(engine, db, started):
    with db.connect() as conn:
        role = conn.execute(sa.select(human_task.c.candidate_role).where(human_task.c.instance_id == started[0])).scalar()
    holder = Principal("bob", "Bob", None, frozenset({role}))
    assert {r.id for r in timeline.search(engine, holder)["rows"]} == set(started)
    with db.begin() as conn:
        conn.execute(human_task.update().where(human_task.c.instance_id != started[0]).values(candidate_role="other"))
    assert [r.id for r in timeline.search(engine, holder)["rows"]] == [started[0]]
    assert timeline.header(engine, holder, started[0])["id"] == started[0]
