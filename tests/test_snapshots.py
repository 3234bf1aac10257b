"""The test suite's snapshots (tests/helpers/snapshots.py) put back exactly what a set-up left, and
only where it started from the same point."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.db.schema import role
from tests.helpers.snapshots import Snapshots, _fingerprint

pytestmark = pytest.mark.both_databases


def _roles(db) -> list:
    with db.connect() as conn:
        return conn.execute(sa.select(role).order_by(role.c.code)).all()


def test_a_restored_set_up_is_the_played_one_and_another_start_plays_anew(engine, db, deploy):
    snapshots = Snapshots()
    played = []

    def set_up():
        played.append(1)
        deploy("send_back.bpmn")
        engine.clock.advance(timedelta(days=3))
        return {"started": engine.start("send_back", started_by="nurse").id}

    start, start_at, ids_at = _fingerprint(db), engine.clock.now(), engine.ids._rng.getstate()
    start_rows = snapshots._take(db, 99)
    first = snapshots.once(("send back",), db, set_up, clock=engine.clock, ids=engine.ids)
    after, after_at, next_id = _fingerprint(db), engine.clock.now(), engine.ids.uuid()

    # back to the starting point (as the next test finds it), then the snapshot instead of the set-up
    snapshots._restore(db, start_rows)
    engine.clock.set(start_at)
    engine.ids._rng.setstate(ids_at)
    assert _fingerprint(db) == start
    again = snapshots.once(("send back",), db, set_up, clock=engine.clock, ids=engine.ids)
    assert played == [1] and again == first and again is not first
    assert _fingerprint(db) == after and engine.clock.now() == after_at and engine.ids.uuid() == next_id
    engine.cache.clear()
    assert engine.show(first["started"]).tasks                   # the engine reads the restored instance

    # a new instance gets a new id (the id source went on from where the set-up left it)
    assert engine.start("send_back", started_by="nurse").id != first["started"]

    # another starting point (a role more): played for real
    with db.begin() as conn:
        conn.execute(role.insert().values(code="extra", name_zh="额外", name_en="Extra"))
    snapshots.once(("send back",), db, lambda: played.append(2), clock=engine.clock, ids=engine.ids)
    assert played == [1, 2] and ("extra",) in [(r.code,) for r in _roles(db)]
