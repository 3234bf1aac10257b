"""Tamper evidence as the discipline office relies on it: verify locates an edited, deleted, inserted or
reordered event; a changed deployed version is refused, and found if forced; a digest taken earlier
catches a whole chain rewritten; grants are events; the audit package checks itself."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.audit import verify as audit, anchor as audit_anchor, export as audit_export
from engine.clues import reporter_access as audit_access
from engine.cli.main import main
from engine.db.transactions import write_transaction
from engine.errors import Forbidden, Invalid
from engine.history import GENESIS, event_hash
from engine.db.schema import event, process_instance, process_version
from tests.engine.audit.test_history import _run_w1
from tests.helpers.triggers import without_triggers

pytestmark = pytest.mark.both_databases


def _rows(db, iid):
    with db.connect() as conn:
        return conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all()


@pytest.mark.parametrize("tamper", ["update", "delete", "insert", "swap"])
def test_verify_names_the_instance_and_position_of_each_kind_of_tampering(engine, deploy, db, tamper):
    iid = _run_w1(engine, deploy)
    other = engine.start("w1_process", started_by="carol").id
    rows = _rows(db, iid)
    with without_triggers(db) as conn:
        r = rows[3]
        if tamper == "update":
            data = json.loads(r.data_json)
            data["name"] = "改过的"
            conn.execute(event.update().where(event.c.id == r.id).values(data_json=json.dumps(data)))
        elif tamper == "delete":
            conn.execute(event.delete().where(event.c.id == r.id))
        elif tamper == "insert":      # a forged event slotted in with a fresh, self-consistent hash
            for later in reversed(rows[3:]):
                conn.execute(event.update().where(event.c.id == later.id).values(seq=later.seq + 1))
            h = event_hash(rows[2].hash, iid, 4, "task_completed", r.at, "mallory", None, None, "{}")
            conn.execute(event.insert().values(chain=iid, seq=4, instance_id=iid, type="task_completed", at=r.at,
                                               actor="mallory", data_json="{}", prev_hash=rows[2].hash, hash=h))
        else:
            a, b = rows[3], rows[4]
            conn.execute(event.update().where(event.c.id == a.id).values(seq=-1))
            conn.execute(event.update().where(event.c.id == b.id).values(seq=a.seq))
            conn.execute(event.update().where(event.c.id == a.id).values(seq=b.seq))
    report = audit.verify_report(db)
    assert not report.ok
    assert {b.chain for b in report.breaks} == {iid}           # the untouched instance is clean
    assert report.breaks[0].position in (4, 5)
    assert other not in {b.chain for b in report.breaks}
    assert report.events >= len(rows)


def test_verify_reports_progress_and_every_chain_checked(engine, deploy, db):
    _run_w1(engine, deploy)
    seen = []
    report = audit.verify_report(db, progress=lambda done, total: seen.append((done, total)))
    assert report.ok and report.versions == 1 and report.chains == 2        # the instance and the registry
    assert seen[-1][0] == seen[-1][1] == report.events


def test_a_deployed_version_cannot_be_changed_and_a_forced_change_is_found(engine, deploy, db):
    deploy("w1.bpmn")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.begin() as conn:
            conn.execute(process_version.update().values(bpmn_xml="<x/>"))
    assert audit.verify_report(db).ok
    with without_triggers(db, "process_version") as conn:          # a DBA edits the XML and even fixes its sha256
        xml = conn.execute(sa.select(process_version.c.bpmn_xml)).scalar().replace("Review", "Rubber stamp")
        conn.execute(process_version.update().values(bpmn_xml=xml,
                                                     sha256=hashlib.sha256(xml.encode()).hexdigest()))
    report = audit.verify_report(db)
    assert [(b.chain, b.position) for b in report.breaks] == [("version:w1_process", 1)]
    assert "registry recorded" in report.breaks[0].reason


def test_a_whole_chain_rewritten_passes_verify_but_not_an_earlier_digest(engine, deploy, db, clock):
    iid = _run_w1(engine, deploy)
    digest = audit_anchor.make_digest(db, clock.now())
    assert audit_anchor.check_digest(db, digest) == []
    clock.advance(timedelta(days=1))
    engine.start("w1_process", started_by="carol")          # chains growing later is fine
    assert audit_anchor.check_digest(db, digest) == []
    with without_triggers(db) as conn:                     # rewrite: new actor, every hash recomputed
        prev = GENESIS
        for r in conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all():
            actor = "mallory" if r.actor == "bob" else r.actor
            h = event_hash(prev, iid, r.seq, r.type, r.at, actor, r.task_id, r.element_id, r.data_json,
                           r.hash_alg, r.state_hash)
            conn.execute(event.update().where(event.c.id == r.id).values(actor=actor, prev_hash=prev, hash=h))
            prev = h
        conn.execute(process_instance.update().where(process_instance.c.id == iid).values(event_head=prev))
    assert audit.verify_report(db).ok                       # consistent, so the chain alone cannot tell
    breaks = audit_anchor.check_digest(db, digest)
    assert [b.chain for b in breaks] == [iid] and "rewritten" in breaks[0].reason
    forged = dict(digest, chains={**digest["chains"], iid: [digest["chains"][iid][0], prev]})
    assert "digest file itself was edited" in audit_anchor.check_digest(db, forged)[0].reason


def test_a_reporter_access_grant_is_an_event_made_only_by_the_discipline_office(engine, deploy, db, people, clock):
    iid = _run_w1(engine, deploy)
    with write_transaction(db) as conn:
        assert not audit_access.has_reporter_grant(conn, iid, "auditor")
        with pytest.raises(Forbidden):
            audit_access.grant_reporter_access(conn, iid, "auditor", "auditor", clock.now(), "自己给自己")
        with pytest.raises(Invalid) as bad:
            audit_access.grant_reporter_access(conn, iid, "jijian", "nobody", clock.now(), "")
        assert {p.field for p in bad.value.problems} == {"to", "reason"}
        audit_access.grant_reporter_access(conn, iid, "jijian", "auditor", clock.now(), "案件复查需要")
    with db.connect() as conn:
        assert audit_access.has_reporter_grant(conn, iid, "auditor")
        assert not audit_access.has_reporter_grant(conn, iid, "nurse")
        [grant] = conn.execute(sa.select(event).where(event.c.chain == audit_access.GRANT_CHAIN)).all()
    assert (grant.type, grant.actor) == ("reporter_access_granted", "jijian")
    assert audit.verify_report(db).ok


def test_the_audit_package_is_deterministic_complete_and_checks_itself(engine, deploy, db, tmp_path):
    iid = _run_w1(engine, deploy)
    data, sha, summary = audit_export.build_package(engine, instance_id=iid)
    assert summary["ok"] and sha == hashlib.sha256(data).hexdigest()
    assert audit_export.build_package(engine, instance_id=iid)[1] == sha          # same content, same hash
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = set(zf.namelist())
    assert {"README.txt", "instances.json", f"events/{iid}.json", "bpmn/w1_process-v1.bpmn", "versions.json",
            "attachments.json", "verification.json", "verify_chain.py", "SHA256SUMS"} <= names
    for line in zf.read("SHA256SUMS").decode().splitlines():       # every file is what SHA256SUMS says
        digest, name = line.split("  ")
        assert hashlib.sha256(zf.read(name)).hexdigest() == digest
    verification = json.loads(zf.read("verification.json"))
    assert verification["chains"]["ok"] and verification["replay"]["ok"]
    zf.extractall(tmp_path)                                 # the stand-alone checker, without our code
    run = subprocess.run([sys.executable, str(tmp_path / "verify_chain.py")], capture_output=True, text=True)
    assert run.returncode == 0 and "OK" in run.stdout
    events = json.loads((tmp_path / "events" / f"{iid}.json").read_text())
    events[2]["data_json"] = events[2]["data_json"].replace("true", "false")
    (tmp_path / "events" / f"{iid}.json").write_text(json.dumps(events))
    run = subprocess.run([sys.executable, str(tmp_path / "verify_chain.py")], capture_output=True, text=True)
    assert run.returncode == 1 and "event 3 does not verify" in run.stdout


def test_the_package_needs_an_instance_or_a_sensible_date_range(engine, clock):
    with pytest.raises(Invalid) as e:
        audit_export.build_package(engine)
    assert e.value.problems[0].field == "instance"
    with pytest.raises(Invalid) as e:
        audit_export.build_package(engine, date_from=clock.now(), date_to=clock.now() - timedelta(days=1))
    assert e.value.problems[0].field == "to"


def test_cli_verify_replay_digest_and_export(engine, deploy, db, forms_dir, tmp_path):
    iid = _run_w1(engine, deploy)
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False), "QINGLIAN_FORMS_DIR": str(forms_dir),
           "QINGLIAN_PROCESSES_DIR": str(tmp_path / "none")}
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    out = cli("audit", "verify")
    assert out.exit_code == 0 and "OK" in out.output and "8 events in 2 chains, 1 versions" in out.output
    out = cli("audit", "replay", iid)
    assert out.exit_code == 0 and "every recorded state reached" in out.output
    out = cli("audit", "digest", "--out", str(tmp_path / "d.json"))
    assert out.exit_code == 0 and "digest root" in out.output
    out = cli("audit", "export", "--from", "2026-09-28", "--to", "2026-09-28", "--out", str(tmp_path / "p.zip"))
    assert out.exit_code == 0 and "1 instance(s)" in out.output and "verified" in out.output
    with without_triggers(db) as conn:
        conn.execute(event.delete().where(event.c.chain == iid, event.c.seq == 3))
    out = cli("audit", "verify", "--instance", iid, "--against", str(tmp_path / "d.json"))
    assert out.exit_code == 1
    assert f"BREAK chain {iid} position 3" in out.output and "anchored event" not in out.output
    out = cli("--json", "audit", "verify", "--against", str(tmp_path / "d.json"))
    report = json.loads(out.output[out.output.index("{"):])
    assert out.exit_code == 1 and {b["chain"] for b in report["breaks"]} == {iid}
    out = cli("audit", "export", "--from", "2026-13-01", "--to", "2026-09-28", "--out", str(tmp_path / "x.zip"))
    assert out.exit_code == 2 and "--from" in out.output
