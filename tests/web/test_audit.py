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
from tests.web.test_campaign import campaign_id  # noqa: F401,F811  (fixture)
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def _snapshot(db) -> dict:
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in metadata.sorted_tables}


def test_the_auditor_reads_every_audit_page_and_replays(app, engine, report):
    iid = engine.task(report).instance_id
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
    assert frames["frames"][-1]["active"] == [engine.task(report).element_id]
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
    ids.update(campaign=request.getfixturevalue("campaign_id"), clue=request.getfixturevalue("clue_id"))
    before = _snapshot(db)
    c = app.test_client()
    login(c, "auditor")
    after_login = _snapshot(db)           # signing in itself records nothing an audit cares about
    refused = []
    for rule, method, path, *_ in MATRIX:
        # their own password and authenticator are theirs; verify: see below
        if method == "GET" or rule in ("/account/password", "/account/two-factor", "/audit/verify"):
            continue
        status = _request(c, method, path.format_map(ids), "auditor").status_code
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
    iid = engine.task(report).instance_id
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


def test_the_auditor_verifies_the_hash_chains_and_sees_the_last_result_and_digest(app, engine, db, report):
    c = app.test_client()
    login(c, "auditor")
    assert "尚未在此页面验证过" in c.get("/audit").get_data(as_text=True)
    before = _snapshot(db)
    resp = post(c, "/audit/verify", page="/audit")
    assert resp.status_code == 302
    page = c.get("/audit").get_data(as_text=True)
    assert "哈希链验证通过" in page                                    # the flash
    assert "通过：" in page and "未发现断裂" in page
    with db.connect() as conn:
        made = conn.execute(sa.select(event.c.type, event.c.actor, event.c.data_json)
                            .where(event.c.chain == "anchors").order_by(event.c.seq)).all()
    assert [(e.type, e.actor) for e in made] == [("digest_made", "auditor"), ("chains_verified", "auditor")]
    root = json.loads(made[0].data_json)["root"]
    assert root in page                                              # the digest's root, to write down
    after = _snapshot(db)                  # the auditor's check records itself on the anchors chain, nothing else
    assert {k for k, v in after.items() if v != before[k]} <= {"event", "chain_head", "web_session"}


def test_a_date_range_exports_what_the_auditor_may_see_and_says_how_many_were_left_out(app, engine, db, report,
                                                                                        campaign_id):
    from tests.web.test_confidential_listings import _disclose
    secret = _disclose(app, db)                                  # a confidential disclosure: the office only
    visible_iid = engine.task(report).instance_id
    c = app.test_client()
    login(c, "auditor")
    page = c.get("/audit/package?from=2026-01-01&to=2027-12-31")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "另有 1 个实例未导出" in text and "1 个属于保密流程" in text
    resp = c.get("/audit/package.zip?from=2026-01-01&to=2027-12-31")
    assert resp.status_code == 200 and resp.headers["X-Audit-Left-Out"] == "1"
    zf = zipfile.ZipFile(io.BytesIO(resp.data))
    names = zf.namelist()
    assert f"events/{visible_iid}.json" in names and f"events/{secret}.json" not in names
    left = json.loads(zf.read("left_out.json"))
    assert left["count"] == 1 and left["by_reason"] == {"confidential": 1}
    assert secret not in zf.read("left_out.json").decode() and secret not in zf.read("instances.json").decode()


def test_the_timeline_and_heatmap_speak_names_and_statuses_and_hide_spiffworkflow_internals(app, engine, report):
    iid = engine.task(report).instance_id
    c = app.test_client()
    login(c, "auditor")
    page = c.get(f"/audit/instances/{iid}").get_data(as_text=True)
    assert "进行中" in page and ">active<" not in page                  # the status in the reader's language
    assert 'title="fill_report" data-element="fill_report">填报月度工作进展<' in page   # a name; its id a tooltip
    assert "⏮" not in page and "⏭" not in page and 'data-icon="first"' in page and 'data-icon="last"' in page
    frames = c.get(f"/audit/instances/{iid}/frames").get_json()
    shown = {i for f in frames["frames"] for i in f["active"] + f["done"]}
    assert shown and shown <= set(frames["names"]) and not shown & {"Start", "End"}
    heat = c.get("/audit/versions/1/heatmap", headers={"Accept": "application/json"}).get_json()
    assert heat["counts"] and not set(heat["counts"]) & {"Start", "End"}
    assert not any("BoundaryEvent" in k or k.endswith("EndJoin") for k in heat["counts"])
    assert set(heat["names"]) == set(heat["counts"])
    page = c.get("/audit/versions/1/heatmap").get_data(as_text=True)
    assert 'data-testid="heatmap-legend"' in page and "颜色表示执行次数" in page
    assert "<td><code>Start</code>" not in page
