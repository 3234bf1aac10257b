"""Deploying process versions through the engine: numbered, immutable, and nothing stored on error."""
from __future__ import annotations


import pytest
import sqlalchemy as sa

from engine.audit import verify as audit
from engine.errors import Invalid
from engine.db.schema import chain_head, event, process_version
from engine.bpmn.validation import SourceFile
from tests.conftest import DATA, bpmn

pytestmark = pytest.mark.both_databases

VALIDATION = DATA / "validation"


def _versions(db):
    with db.connect() as conn:
        return [(r.process_key, r.version) for r in conn.execute(
            sa.select(process_version).order_by(process_version.c.id))]


def test_a_deploy_is_versioned_and_identical_content_returns_the_same_version(engine, db):
    [v1] = engine.deploy([SourceFile("w1.bpmn", bpmn("w1.bpmn"))], deployed_by="owner", note="first")
    assert (v1.process_key, v1.version, v1.created) == ("w1_process", 1, True)
    assert len(v1.sha256) == 64
    [again] = engine.deploy([SourceFile("w1.bpmn", bpmn("w1.bpmn"))], deployed_by="owner")
    assert (again.id, again.version, again.created) == (v1.id, 1, False)
    changed = bpmn("w1.bpmn").replace(b'name="Review"', b'name="Review it"')
    [v2] = engine.deploy([SourceFile("w1.bpmn", changed)], deployed_by="owner")
    assert (v2.version, v2.created) == (2, True) and v2.sha256 != v1.sha256
    rows = engine.registry.list_versions("w1_process")
    assert [(r["version"], r["deployed_by"], r["note"]) for r in rows] == [(1, "owner", "first"), (2, "owner", None)]
    with db.connect() as conn:
        types = [r.data_json for r in conn.execute(sa.select(event).where(event.c.chain == "registry"))]
    assert len(types) == 2                               # one event per new version, none for the repeat
    assert audit.verify(db)[1] == []


def test_running_instances_stay_on_their_version(engine, deploy):
    deploy("w1.bpmn")
    old = engine.start("w1_process", started_by="alice")
    changed = bpmn("w1.bpmn").replace(b'name="Fill"', b'name="Fill in"')
    engine.deploy([SourceFile("w1.bpmn", changed)], deployed_by="owner")
    new = engine.start("w1_process", started_by="alice")
    assert (old.version, new.version) == (1, 2)
    assert (old.tasks[0].name, new.tasks[0].name) == ("Fill", "Fill in")
    engine.cache.clear()
    engine.registry._cache.clear()
    view = engine.complete_task(old.tasks[0].id, user="alice", data={"approved": True})
    assert view.version == 1 and view.tasks[0].name == "Review"
    pinned = engine.start("w1_process", started_by="alice", version=1)
    assert pinned.version == 1


CASES = [
    (["xxe.bpmn"], "xml_entities"),
    (["billion_laughs.bpmn"], "xml_entities"),
    (["malformed.bpmn"], "malformed_xml"),
    (["not_bpmn.xml"], "not_bpmn"),
    (["parse_error.bpmn"], "parse_error"),
    (["not_executable.bpmn"], "no_executable_process"),
    (["unresolved_call.bpmn"], "unresolved_call"),
    (["script_error.bpmn"], "script_error"),
    (["condition_error.bpmn"], "condition_error"),
    (["timers.bpmn"], "timer_error"),
    (["lane_errors.bpmn"], "unknown_lane_role"),
    (["forms.bpmn"], "unknown_form"),
    (["duplicate_a.bpmn", "duplicate_b.bpmn"], "duplicate_process"),
]


@pytest.mark.parametrize("files, code", CASES, ids=[c for _, c in CASES])
def test_an_invalid_bundle_is_refused_whole_and_stores_nothing(engine, db, files, code):
    before = _snapshot(db)
    with pytest.raises(Invalid) as err:
        engine.deploy([SourceFile(f, (VALIDATION / f).read_bytes()) for f in files], deployed_by="owner")
    found = err.value.problems
    assert code in {p.code for p in found}
    assert all(p.file for p in found)
    assert _snapshot(db) == before


def test_all_problems_are_reported_at_once_with_element_and_line(engine, db):
    with pytest.raises(Invalid) as err:
        engine.deploy([SourceFile("three_problems.bpmn", (VALIDATION / "three_problems.bpmn").read_bytes())],
                      deployed_by="owner")
    found = err.value.problems
    assert len(found) >= 3
    assert all(p.element_id and p.line for p in found)
    assert _versions(db) == []


def test_a_valid_file_deployed_with_an_invalid_one_is_not_stored_either(engine, db):
    files = [SourceFile("w1.bpmn", bpmn("w1.bpmn")),
             SourceFile("script_error.bpmn", (VALIDATION / "script_error.bpmn").read_bytes())]
    with pytest.raises(Invalid):
        engine.deploy(files, deployed_by="owner")
    assert _versions(db) == []


def test_a_script_with_a_dunder_escape_is_refused_at_deploy(engine, db):
    xml = bpmn("escape.bpmn").replace(b'klass = getattr((), "__cl" + "ass__")', b"klass = ().__class__")
    with pytest.raises(Invalid) as err:
        engine.deploy([SourceFile("escape.bpmn", xml)], deployed_by="owner")
    assert [p.code for p in err.value.problems] == ["script_error"]
    assert err.value.problems[0].element_id == "evil"


def _snapshot(db):
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (process_version, event, chain_head)}
