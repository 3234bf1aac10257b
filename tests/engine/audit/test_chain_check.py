"""验证哈希链 from the audit pages: the check verifies every chain, anchors a digest and records both,
so the last result (and who ran it) is there to read; a tampered chain is named in the record."""
from __future__ import annotations

import pytest

from engine.audit import anchor, chain_check
from engine.db.schema import event
from engine.org.people import Principal
from tests.engine.audit.test_history import _run_w1
from tests.helpers.triggers import without_triggers

pytestmark = pytest.mark.both_databases
AUDITOR = Principal("auditor", "周审计", None, frozenset({"auditor"}))


def test_a_check_is_recorded_with_its_digest_and_is_the_last_result(engine, deploy, db, clock):
    _run_w1(engine, deploy)
    assert chain_check.last(engine) is None
    done = chain_check.run(engine, AUDITOR)
    assert done["ok"] and done["chains"] >= 1 and done["events"] > 0 and done["by"] == "auditor"
    last = chain_check.last(engine)
    assert last["ok"] and last["root"] == done["root"] and last["by"] == "auditor"
    digest = anchor.make_digest(db, clock.now())
    assert digest["root"] == done["root"]             # checking moved no chain but the anchors' own
    assert anchor.check_digest(db, digest) == []


def test_a_tampered_chain_is_named_in_the_recorded_result(engine, deploy, db):
    iid = _run_w1(engine, deploy)
    with without_triggers(db) as conn:
        conn.execute(event.update().where(event.c.chain == iid, event.c.seq == 2).values(actor="mallory"))
    done = chain_check.run(engine, AUDITOR)
    assert not done["ok"] and done["break_count"] == 1
    last = chain_check.last(engine)
    assert not last["ok"] and iid in last["breaks"][0]
