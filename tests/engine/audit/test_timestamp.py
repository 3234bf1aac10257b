"""Hole 8, RFC 3161: with QINGLIAN_TSA_URL set, each scheduled digest is time-stamped by the hospital's
time-stamp server and the token stored beside it in the sink; the token is a real one (OpenSSL checks
its signature against the TSA's certificate), `audit verify --against` notices a token that no longer
fits its digest, and a TSA that is down never costs the digest."""
from __future__ import annotations

import base64
import json
import subprocess

import pytest

from engine.audit import anchor, timestamp
from engine.bootstrap import scheduled_jobs
from engine.config import Settings
from engine.history import canonical_json
from tests.helpers import tsa

pytestmark = pytest.mark.both_databases


@pytest.fixture
def server():
    ts, stop = tsa.serve()
    yield ts
    stop()


def _digest_job(engine, sink, url):
    settings = Settings.from_env({"QINGLIAN_DIGEST_SINK": str(sink), "QINGLIAN_TSA_URL": url})
    return next(run for job_id, _m, run in scheduled_jobs(settings, engine) if job_id == "qinglian-digest")


def test_the_scheduled_digest_is_time_stamped_and_the_token_verifies_with_openssl(engine, deploy, server,
                                                                                 tmp_path):
    deploy("w1.bpmn")
    engine.start("w1_process", started_by="alice")
    sink = tmp_path / "digests.jsonl"
    _digest_job(engine, sink, server.url)()

    entry = json.loads(sink.read_text().splitlines()[0])
    stamped = entry["timestamp"]
    assert stamped["tsa"] == server.url and stamped["time"].endswith("+00:00") and stamped["serial"] >= 1
    assert len(server.requests) == 1
    (tmp_path / "digest.json").write_text(canonical_json(entry["digest"]), encoding="utf-8")
    (tmp_path / "token.der").write_bytes(base64.b64decode(stamped["token"]))
    check = subprocess.run(["openssl", "ts", "-verify", "-token_in", "-in", str(tmp_path / "token.der"),
                            "-data", str(tmp_path / "digest.json"), "-CAfile", str(server.certificate)],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "Verification: OK" in check.stdout
    assert anchor.check_file(engine.db, sink.read_text()) == []


def test_a_token_moved_to_another_digest_is_found(engine, deploy, server, tmp_path):
    deploy("w1.bpmn")
    sink = tmp_path / "digests.jsonl"
    run = _digest_job(engine, sink, server.url)
    run()
    engine.start("w1_process", started_by="alice")
    run()
    first, second = (json.loads(line) for line in sink.read_text().splitlines())
    second["timestamp"] = first["timestamp"]         # an old stamp passed off for a later digest
    forged = canonical_json(first) + "\n"
    import hashlib
    second["previous_line_sha256"] = hashlib.sha256(canonical_json(first).encode()).hexdigest()
    forged += canonical_json(second) + "\n"
    reasons = [b.reason for b in anchor.check_file(engine.db, forged)]
    assert reasons == ["the time-stamp token is for another digest"]


def test_a_tsa_that_fails_leaves_the_digest_with_the_reason(engine, deploy, tmp_path):
    broken, stop = tsa.serve(status=503)
    try:
        sink = tmp_path / "digests.jsonl"
        _digest_job(engine, sink, broken.url)()
    finally:
        stop()
    entry = json.loads(sink.read_text())
    assert entry["digest"]["root"] and entry["timestamp"] == {"tsa": broken.url,
                                                              "error": "the TSA answered HTTP 503"}
    assert anchor.check_file(engine.db, sink.read_text()) == []


def test_a_reply_for_another_request_is_refused():
    """The TSA's token must carry our imprint and nonce: a replayed reply is not a stamp of ours."""
    replaying, stop = tsa.serve(replay_first=True)
    try:
        assert timestamp.stamp(replaying.url, b"digest one")["token"]
        with pytest.raises(timestamp.TimestampError, match="stamped something else"):
            timestamp.stamp(replaying.url, b"digest two")
    finally:
        stop()
    with pytest.raises(timestamp.TimestampError, match="could not be reached"):
        timestamp.stamp("http://127.0.0.1:9/nothing", b"digest")


def test_the_audit_page_shows_the_time_stamp_of_the_last_scheduled_digest(app, people, server, tmp_path):
    from tests.helpers.web import login
    eng = app.extensions["qinglian"]
    _digest_job(eng, tmp_path / "d.jsonl", server.url)()
    auditor = app.test_client()
    login(auditor, "auditor")
    page = auditor.get("/audit").get_data(as_text=True)
    assert 'data-testid="digest-timestamp" class="ok"' in page and f"由 {server.url} 签发（序列号 " in page
