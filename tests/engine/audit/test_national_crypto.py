"""国密 as a setting: QINGLIAN_HASH=sm3 hashes new events (and row digests) with SM3, QINGLIAN_VAULT_CIPHER=sm4
seals reporters' identities with SM4. Each event and token names its algorithm, so `audit verify` and the
vault read data of either kind — a chain begun under SHA-256 and continued under SM3 verifies whole."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes

from engine import history
from engine.audit import export as audit_export
from engine.audit import verify as audit
from engine.clues.confidential import ReporterVault, vault_from_settings
from engine.config import Settings, SettingsError
from engine.db.schema import event, task_comment
from engine.db.transactions import write_transaction
from engine.errors import Forbidden
from engine.inbox import comments
from tests.helpers.triggers import without_triggers

pytestmark = pytest.mark.both_databases


@pytest.fixture
def sm3():
    history.use_algorithm("sm3")
    yield
    history.use_algorithm("sha256")


def _sm3(text: str) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(text.encode("utf-8"))
    return h.finalize().hex()


def _events(db, iid):
    with db.connect() as conn:
        return conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all()


def test_a_chain_begun_under_sha256_and_continued_under_sm3_verifies_and_an_edit_is_found(engine, deploy, db):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice", data={"amount": 3})      # SHA-256
    history.use_algorithm("sm3")
    try:
        view = engine.complete_task(view.tasks[0].id, user="alice", data={"approved": True})
    finally:
        history.use_algorithm("sha256")
    rows = _events(db, view.id)
    algs = [r.hash_alg for r in rows]
    assert None in algs and "sm3" in algs and algs.index("sm3") > algs.index(None)
    for r in rows:
        if r.hash_alg == "sm3":        # SM3 over the documented content, computed independently here
            parts = [r.prev_hash, r.chain, str(r.seq), r.type, r.at.isoformat(timespec="microseconds"),
                     r.actor or "", r.task_id or "", r.element_id or "", r.data_json]
            if r.state_hash:
                parts.append("state:" + r.state_hash)
            assert r.hash == _sm3("\x1f".join(parts))
    assert audit.verify_report(db).ok

    edited = next(r for r in rows if r.hash_alg == "sm3")
    with without_triggers(db) as conn:
        conn.execute(event.update().where(event.c.id == edited.id).values(actor="mallory"))
    breaks = audit.verify_report(db).breaks
    assert [(b.chain, b.position, b.reason) for b in breaks] == [
        (view.id, edited.seq, "content does not match its hash (edited)")]


def test_row_digests_under_sm3_name_their_algorithm_and_verify(engine, deploy, db, clock, sm3):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice")
    with write_transaction(engine.db) as conn:
        comments.add(conn, instance_id=view.id, task_id=None, author="alice", body="请核实", now=clock.now())
    with db.connect() as conn:
        recorded = json.loads(conn.execute(sa.select(event.c.data_json).where(
            event.c.chain == history.RECORDS_CHAIN, event.c.type == "comment_added")).scalar_one())
    assert recorded["digest"].startswith("sm3:")
    assert audit.verify_report(db).ok
    with without_triggers(db) as conn:
        conn.execute(task_comment.update().values(body="无异常"))
    assert [b.reason for b in audit.verify_report(db).breaks] == [
        "the comment 1 differs from what was recorded (edited)"]


def test_the_audit_package_checker_reads_sm3_chains(engine, deploy, db, tmp_path, sm3):
    deploy("w1.bpmn")
    view = engine.start("w1_process", started_by="alice", data={"amount": 3})
    data, _sha, summary = audit_export.build_package(engine, instance_id=view.id)
    assert summary["ok"]
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)
    run = subprocess.run([sys.executable, str(tmp_path / "verify_chain.py")], capture_output=True, text=True)
    assert run.returncode == 0 and "OK" in run.stdout


def test_the_settings_choose_the_algorithms_and_refuse_others():
    s = Settings.from_env({"QINGLIAN_HASH": "SM3", "QINGLIAN_VAULT_CIPHER": "sm4"})
    assert (s.hash_algorithm, s.vault_cipher) == ("sm3", "sm4")
    assert (Settings.from_env({}).hash_algorithm, Settings.from_env({}).vault_cipher) == ("sha256", "fernet")
    with pytest.raises(SettingsError, match="QINGLIAN_HASH"):
        Settings.from_env({"QINGLIAN_HASH": "md5"})
    with pytest.raises(SettingsError, match="QINGLIAN_VAULT_CIPHER"):
        Settings.from_env({"QINGLIAN_VAULT_CIPHER": "des"})


def test_the_sm4_vault_seals_and_still_opens_identities_sealed_with_fernet(tmp_path):
    key = Fernet.generate_key().decode()
    before = ReporterVault(key).seal("张三")                        # stored before the setting changed
    vault = vault_from_settings(Settings.from_env({"QINGLIAN_REPORTER_KEY": key, "QINGLIAN_VAULT_CIPHER": "sm4",
                                                   "QINGLIAN_INSTANCE_DIR": str(tmp_path)}))
    token = vault.seal("李四 13800000000")
    assert token.startswith("sm4:") and "李四" not in token
    assert vault.seal("李四 13800000000") != token                   # a fresh nonce each time
    assert vault.open(token) == "李四 13800000000"
    assert vault.open(before) == "张三"
    assert ReporterVault(key).open(token) == "李四 13800000000"      # a Fernet vault reads SM4 tokens too
    with pytest.raises(Forbidden):                                   # another key: refused, not garbage
        ReporterVault(Fernet.generate_key(), "sm4").open(token)
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(Forbidden):                                   # GCM: an edited token is refused
        vault.open(forged)
