"""The audit pages as an auditor and the discipline office use them, and the auditor's read-only rule
checked on every route: pages and API alike refuse any change, and the database stays as it was."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import sqlalchemy as sa

import pytest

from engine.db.schema import event, metadata
from tests.web.test_authz import MATRIX, _request, campaign_id, clue_id, ids  # noqa: F401  (fixtures)
from tests.web.test_pages import report  # noqa: F401  (fixtures)
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def _snapshot(db) -> dict:
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in metadata.sorted_tables}


def test_the_auditor_reads_every_audit_page_and_replays(app, engine, report):
    iid = engine.task(report)["instance_id"]
    c = app.test_client()
    login(c, "auditor")
    assert "审计" in c.get("/inbox").get_data(as_text=True)            # the nav link
    page = c.get("/audit").get_data(as_text=True)
    assert f"/audit/instances/{iid}" in page
    assert f"/audit/instances/{iid}" in c.get("/audit?q=2026-09").get_data(as_text=True)   # its business key
    assert f"/audit/instances/{iid}" not in c.get("/audit?q=2026%25").get_data(as_text=True)  # % is literal
    page = c.get(f"/audit/instances/{iid}").get_data(as_text=True)
    assert "发起流程" in page and "任务到达" in page and 'id="step-slider"' in page
    frames = c.get(f"/audit/instances/{iid}/frames").get_json()
    assert len(frames["frames"]) == len(engine.events(iid)) and frames["xml"].startswith("<?xml")
    assert frames["frames"][-1]["active"] == [engine.task(report)["element_id"]]
    page = c.get(f"/audit/instances/{iid}/replay").get_data(as_text=True)
    assert "一致：每个记录的状态都已重现" in page
    assert c.get(f"/audit/instances/{iid}/replay", headers={"Accept": "application/json"}).get_json()["ok"]
    resp = c.get(f"/audit/instances/{iid}/package")
    assert resp.mimetype == "application/zip"
    assert resp.headers["X-Content-SHA256"] == hashlib.sha256(resp.data).hexdigest()
    assert f"events/{iid}.json" in zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    heat = c.get("/audit/versions/1/heatmap", headers={"Accept": "application/json"}).get_json()
    assert heat["instances"] == 1
    page = c.get("/audit/versions/1/heatmap?from=2026-10-01&to=2026-10-31").get_data(as_text=True)
    assert "范围内共 0 个实例" in page
    bad = c.get("/audit/versions/1/heatmap?from=2026-13-01")
    assert bad.status_code == 422 and "from" in bad.get_data(as_text=True)


def test_the_auditor_changes_nothing_on_any_route(app, db, ids, request):
    ids = {**ids, "campaign": request.getfixturevalue("campaign_id"), "clue": request.getfixturevalue("clue_id")}
    before = _snapshot(db)
    c = app.test_client()
    login(c, "auditor")
    after_login = _snapshot(db)           # signing in itself records nothing an audit cares about
    refused = []
    for rule, method, path, *_ in MATRIX:
        if method == "GET" or rule in ("/account/password", "/audit/verify"):   # own password; verifying the chains
            continue
        status = _request(c, method, path.format(**ids), "auditor").status_code
        refused.append((rule, status))
    assert all(status == 403 for _, status in refused), refused
    assert _snapshot(db) == after_login
    signed_in = {k for k, v in after_login.items() if v != before[k]}   # the server-side session, if nothing else
    assert signed_in <= {"login_attempt", "web_session"}, signed_in


def test_the_auditor_token_reads_the_api_but_cannot_write(app, ids):
    c = app.test_client()
    token = c.post("/api/v1/auth/token", json={"username": "auditor", "password": "correct-horse-7"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert c.get(f"/api/v1/instances/{ids['instance']}", headers=auth).status_code == 200
    for path, body in ((f"/api/v1/tasks/{ids['task']}/claim", {}), ("/api/v1/instances", {"process_key": "monthly_report"}),
                       (f"/api/v1/tasks/{ids['task']}/comments", {"body": "x"})):
        resp = c.post(path, json=body, headers=auth)
        assert resp.status_code == 403 and "审计员" in resp.get_json()["message"]


def test_the_discipline_office_grants_reporter_access_and_the_grant_is_an_event(app, engine, db, report):
    iid = engine.task(report)["instance_id"]
    c = app.test_client()
    login(c, "jijian")
    resp = post(c, f"/audit/instances/{iid}/grants", {"to": "auditor", "reason": ""}, page="/audit")
    assert resp.status_code == 422 and "请填写授权理由" in resp.get_data(as_text=True)
    resp = post(c, f"/audit/instances/{iid}/grants", {"to": "auditor", "reason": "案件复查"}, page="/audit")
    assert resp.status_code == 302
    page = c.get(f"/audit/instances/{iid}").get_data(as_text=True)
    assert "案件复查" in page and "周审计" in page
    with db.connect() as conn:
        [grant] = conn.execute(sa.select(event).where(event.c.type == "reporter_access_granted")).all()
    assert grant.actor == "jijian" and json.loads(grant.data_json)["to"] == "auditor"
    a = app.test_client()
    login(a, "auditor")
    assert "授权给" not in a.get(f"/audit/instances/{iid}").get_data(as_text=True)    # no form for auditors
    assert post(a, f"/audit/instances/{iid}/grants", {"to": "auditor", "reason": "x"}, page="/audit").status_code == 403
