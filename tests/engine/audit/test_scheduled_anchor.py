"""Hole 8, the anchored digest taken automatically: the scheduler's job verifies every chain, takes a
digest and appends both to an append-only sink file; a whole recent instance deleted afterwards (which
`verify` alone cannot see) is found against the sink's digest. The audit page shows the last
verification and digest and runs a verification on request."""
from __future__ import annotations

import hashlib
import json

import pytest

from engine.audit import anchor
from engine.bootstrap import scheduled_jobs
from engine.audit import verify as audit
from engine.config import Settings
from engine.db.schema import event, process_instance
from tests.helpers.triggers import without_triggers
from tests.helpers.web import login, post

pytestmark = pytest.mark.both_databases


def _delete_instance(db, instance_id: str) -> None:
    from engine.db import schema
    with without_triggers(db) as conn:
        for table in reversed(schema.metadata.sorted_tables):
            if table is process_instance:
                continue
            if "instance_id" in table.c:
                conn.execute(table.delete().where(table.c.instance_id == instance_id))
        conn.execute(event.delete().where(event.c.chain == instance_id))
        conn.execute(process_instance.delete().where(process_instance.c.id == instance_id))


def test_the_scheduled_job_appends_verified_digests_that_find_a_deleted_instance(engine, deploy, tmp_path):
    deploy("w1.bpmn")
    doomed = engine.start("w1_process", started_by="alice").id
    sink = tmp_path / "anchors" / "digests.jsonl"
    settings = Settings.from_env({"QINGLIAN_DIGEST_SINK": str(sink), "QINGLIAN_DIGEST_HOURS": "6",
                                  "QINGLIAN_ANALYTICS_MINUTES": "0"})
    [(job_id, minutes, run)] = scheduled_jobs(settings, engine)
    assert (job_id, minutes) == ("qinglian-digest", 6 * 60)
    run()
    engine.start("w1_process", started_by="alice")
    run()
    first, second = sink.read_bytes().splitlines()
    assert json.loads(second)["previous_line_sha256"] == hashlib.sha256(first).hexdigest()
    assert json.loads(first)["verified"] == {"ok": True, "events": json.loads(first)["verified"]["events"],
                                             "breaks": 0}

    _delete_instance(engine.db, doomed)
    assert audit.verify(engine.db)[1] == []                   # the chains alone cannot tell
    digest = json.loads(second)["digest"]
    breaks = anchor.check_digest(engine.db, digest)
    assert [b.chain for b in breaks] == [doomed]
    # the whole sink at once, as `qinglian audit verify --against SINK` reads it: both digests name it
    assert {b.chain for b in anchor.check_file(engine.db, sink.read_text())} == {doomed}
    sink.write_bytes(second + b"\n")                                   # a line removed from the sink
    assert "removed or edited" in anchor.check_file(engine.db, sink.read_text())[0].reason


def test_no_digest_hours_no_job(engine):
    assert scheduled_jobs(Settings.from_env({"QINGLIAN_DIGEST_HOURS": "0", "QINGLIAN_ANALYTICS_MINUTES": "0"}),
                          engine) == ()


def test_the_audit_page_shows_the_scheduled_check_as_the_last_one(app, people, tmp_path):
    eng = app.extensions["qinglian"]
    settings = Settings.from_env({"QINGLIAN_DIGEST_SINK": str(tmp_path / "d.jsonl"), "QINGLIAN_ANALYTICS_MINUTES": "0"})
    [(_, _, run)] = scheduled_jobs(settings, eng)
    run()
    auditor = app.test_client()
    login(auditor, "auditor")
    page = auditor.get("/audit").get_data(as_text=True)
    assert "scheduler" in page and "未发现断裂" in page


def test_the_audit_page_shows_the_last_verification_and_runs_one(app, people):
    auditor = app.test_client()
    login(auditor, "auditor")
    assert "尚未在此页面验证过" in auditor.get("/audit").get_data(as_text=True)
    resp = post(auditor, "/audit/verify", page="/audit")          # an auditor may: it writes only its event
    assert resp.status_code == 302
    page = auditor.get("/audit").get_data(as_text=True)
    assert "未发现断裂" in page and "尚未在此页面验证过" not in page
    nurse = app.test_client()
    login(nurse, "nurse")
    assert post(nurse, "/audit/verify").status_code == 403
