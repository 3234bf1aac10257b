"""Hole 8, the instance's current state: the last event of every write seals the instance's stored state
(its workflow JSON with the process data, and its status), so editing a stored instance in the database
is found by `audit verify` — not only by a replay."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.audit import verify as audit
from engine.db.schema import event, process_instance
from engine.history import GENESIS, event_hash
from tests.engine.audit.test_history import _run_w1
from tests.helpers.triggers import without_triggers

pytestmark = pytest.mark.both_databases


def _instance(db, iid):
    with db.connect() as conn:
        return conn.execute(sa.select(process_instance).where(process_instance.c.id == iid)).one()


def test_every_write_seals_the_state_it_stores(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    with db.connect() as conn:
        last = conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq.desc())).first()
    assert last.state_hash is not None
    assert audit.verify_report(db).ok


def test_editing_the_data_of_a_running_instance_in_the_database_is_found(engine, deploy, db):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice", data={"amount": 3})
    other = engine.start("w1_process", started_by="carol", data={"amount": 4}).id
    assert audit.verify_report(db).ok
    with db.begin() as conn:                   # the running data lives with the waiting task's row
        changed = conn.execute(sa.text("UPDATE instance_task SET data_json = REPLACE(data_json, :old, :new) "
                                       "WHERE instance_id = :id AND data_json LIKE :has"),
                               {"old": '"amount":3', "new": '"amount":300000', "has": '%"amount":3%',
                                "id": view.id}).rowcount
    assert changed >= 1
    breaks = audit.verify_report(db).breaks
    assert [(b.chain, b.reason) for b in breaks] == [
        (view.id, "the instance's stored state (data or status) differs from what its chain sealed "
                  "(edited in the database)")]
    assert other not in {b.chain for b in breaks}


def test_editing_the_final_data_of_a_completed_instance_is_found(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    state = json.loads(_instance(db, iid).workflow_json)
    assert state["top"]["data"]["amount"] == 3
    state["top"]["data"]["amount"] = 300000
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE process_instance SET workflow_json = :w WHERE id = :id"),
                     {"w": json.dumps(state), "id": iid})
    assert [b.chain for b in audit.verify_report(db).breaks] == [iid]


def test_editing_the_status_of_a_stored_instance_is_found(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    assert _instance(db, iid).status == "completed"
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE process_instance SET status = 'active' WHERE id = :id"), {"id": iid})
    assert [b.chain for b in audit.verify_report(db).breaks] == [iid]


def test_instances_written_before_seals_existed_are_not_flagged(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    with without_triggers(db) as conn:          # as an old database holds them: no seals, hashed without
        conn.execute(sa.text("UPDATE event SET state_hash = NULL"))
        prev = GENESIS
        for r in conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all():
            h = event_hash(prev, iid, r.seq, r.type, r.at, r.actor, r.task_id, r.element_id, r.data_json)
            conn.execute(event.update().where(event.c.id == r.id).values(prev_hash=prev, hash=h))
            prev = h
        conn.execute(process_instance.update().where(process_instance.c.id == iid).values(event_head=prev))
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE process_instance SET status = 'active' WHERE id = :id"), {"id": iid})
    assert audit.verify_report(db).ok            # nothing sealed, nothing to compare: as before
