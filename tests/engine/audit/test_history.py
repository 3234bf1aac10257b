"""The event log: every change is an event, chained by hashes; tampering is located."""
from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from engine.audit import verify as audit
from engine.history import GENESIS
from engine.db.schema import event, process_version
from tests.helpers.triggers import without_triggers

pytestmark = pytest.mark.both_databases


def _run_w1(engine, deploy):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice", data={"amount": 3})
    view = engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    engine.claim(view.tasks[0].id, user="bob")
    view = engine.complete_task(view.tasks[0].id, user="bob", data={"comment": "同意"})
    return view.id


def test_every_state_change_is_an_event_with_inputs_and_clock(engine, deploy, clock):
    iid = _run_w1(engine, deploy)
    events = engine.events(iid)
    assert [(e["type"], e["element_id"], e["actor"]) for e in events] == [
        ("instance_started", None, "alice"),
        ("task_ready", "fill", "alice"),
        ("task_completed", "fill", "alice"),
        ("task_ready", "review", "alice"),
        ("task_claimed", "review", "bob"),
        ("task_completed", "review", "bob"),
        ("instance_completed", None, "bob"),
    ]
    assert events[0]["data"]["data"] == {"amount": 3}
    assert events[0]["data"]["clock"] == clock.now().isoformat()
    assert events[2]["data"]["data"] == {"approved": True}
    assert events[2]["data"]["after"] == {"status": "active", "active": ["review", "review_timer"]}
    assert events[5]["data"]["data"] == {"comment": "同意"}
    assert events[-1]["data"]["data"] == {"amount": 3, "approved": True, "comment": "同意"}


def test_every_hash_recomputes_from_the_stored_row(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    with db.connect() as conn:
        rows = conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all()
    prev = GENESIS
    for r in rows:
        content = "\x1f".join([prev, r.chain, str(r.seq), r.type, r.at.isoformat(timespec="microseconds"),
                               r.actor or "", r.task_id or "", r.element_id or "", r.data_json])
        assert r.prev_hash == prev
        assert r.hash == hashlib.sha256(content.encode()).hexdigest()
        prev = r.hash
    checked, breaks = audit.verify(db)
    assert breaks == [] and checked == len(rows) + 1          # + the deployment on the registry chain


def test_events_and_versions_cannot_be_changed_through_the_database(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.begin() as conn:
            conn.execute(event.update().where(event.c.chain == iid).values(actor="mallory"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.begin() as conn:
            conn.execute(event.delete().where(event.c.chain == iid))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.begin() as conn:
            conn.execute(process_version.update().values(bpmn_xml="<x/>"))


@pytest.mark.parametrize("tamper, reason", [
    ("edit", "edited"),
    ("delete", "missing"),
    ("swap", "previous-hash"),
    ("truncate_end", "head says"),
])
def test_tampering_behind_the_triggers_is_located(engine, deploy, db, tamper, reason):
    iid = _run_w1(engine, deploy)
    with without_triggers(db) as conn:
        rows = conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all()
        third = rows[2]
        if tamper == "edit":
            data = json.loads(third.data_json)
            data["data"]["approved"] = False
            conn.execute(event.update().where(event.c.id == third.id).values(data_json=json.dumps(data)))
        elif tamper == "delete":
            conn.execute(event.delete().where(event.c.id == third.id))
        elif tamper == "swap":
            a, b = rows[2], rows[3]
            conn.execute(event.update().where(event.c.id == a.id).values(seq=-1))
            conn.execute(event.update().where(event.c.id == b.id).values(seq=a.seq))
            conn.execute(event.update().where(event.c.id == a.id).values(seq=b.seq))
        elif tamper == "truncate_end":
            conn.execute(event.delete().where(event.c.id == rows[-1].id))
    checked, breaks = audit.verify(db, iid)
    assert breaks, "tampering went unnoticed"
    assert all(b.chain == iid for b in breaks)
    assert any(reason in b.reason for b in breaks), [str(b) for b in breaks]
    expected_position = len(rows) if tamper == "truncate_end" else 3
    assert breaks[0].position == expected_position
    _, others = audit.verify(db)      # other chains are unaffected, and reported as such
    assert {b.chain for b in others} == {iid}
