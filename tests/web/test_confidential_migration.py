"""Changing who may see or act on a process between versions (confidential, startableBy, lane roles,
department rules) is never a safe migration: a process owner cannot lift a disclosure's
confidentiality by deploying a copy and migrating; the discipline office must approve, and its
approval is an event in the instance's hash chain. A deployment that changes access is recorded."""
from __future__ import annotations

import json

import sqlalchemy as sa

import pytest

from engine.audit import verify as audit
from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.db.schema import event, process_instance, process_version
from tests.web.test_campaign import campaign_id  # noqa: F401  (fixture)
from tests.conftest import PASSWORD
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

ORIGINAL = (PROJECT_ROOT / "processes" / "campaign_disclosure.bpmn").read_text()
WIDENED = ORIGINAL.replace('name="confidential" value="discipline_office"',
                           'name="confidential" value="discipline_office,process_owner"')


def _disclose(app, db) -> str:
    nurse = app.test_client()
    login(nurse, "nurse")
    resp = post(nurse, "/start/campaign_disclosure", {"issues[0].summary": "收受患者红包", "money": "0.2"},
                page="/start/campaign_disclosure")
    assert resp.status_code == 302
    with db.connect() as conn:
        return conn.execute(sa.select(process_instance.c.id).where(
            process_instance.c.process_key == "campaign_disclosure")).scalar_one()


def _token(c, who: str) -> dict:
    token = c.post("/api/v1/auth/token", json={"username": who, "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _version_of(db, iid: str) -> int:
    with db.connect() as conn:
        return conn.execute(sa.select(process_version.c.version).join(
            process_instance, process_instance.c.process_version_id == process_version.c.id)
            .where(process_instance.c.id == iid)).scalar_one()


def test_a_process_owner_cannot_lift_a_disclosures_confidentiality_by_migrating_it(app, engine, db, campaign_id):
    assert WIDENED != ORIGINAL
    disclosure = _disclose(app, db)
    engine.deploy([SourceFile("campaign_disclosure.bpmn", WIDENED.encode())], deployed_by="owner")
    with db.connect() as conn:
        deployed = [json.loads(r.data_json) for r in conn.execute(
            sa.select(event.c.data_json).where(event.c.type == "version_deployed"))]
    [widened] = [d for d in deployed if d["process_key"] == "campaign_disclosure" and d["version"] == 2]
    assert widened["access_changes"], "a deployment that changes who may see is recorded"

    c = app.test_client()
    auth = _token(c, "owner")
    resp = c.post(f"/api/v1/instances/{disclosure}/migrate", json={}, headers=auth)
    assert resp.status_code == 409 and resp.get_json()["code"] == "migration_needs_approval"
    assert _version_of(db, disclosure) == 1
    assert c.get(f"/api/v1/instances/{disclosure}", headers=auth).status_code in (403, 404)
    assert c.get(f"/api/v1/instances/{disclosure}/events", headers=auth).status_code in (403, 404)

    page = app.test_client()                            # nor from the versions page
    login(page, "owner")
    post(page, f"/modeler/campaign_disclosure/instances/{disclosure}/migrate", {"to_version": "2"},
         page="/modeler/campaign_disclosure/versions")
    assert _version_of(db, disclosure) == 1


def test_the_discipline_office_approves_an_access_changing_migration_and_the_approval_is_chained(
        app, engine, db, campaign_id):
    disclosure = _disclose(app, db)
    engine.deploy([SourceFile("campaign_disclosure.bpmn", WIDENED.encode())], deployed_by="owner")
    c = app.test_client()
    assert c.post(f"/api/v1/instances/{disclosure}/migrate", json={}, headers=_token(c, "owner")).status_code == 409

    owner = app.test_client()
    login(owner, "owner")
    assert post(owner, f"/audit/migrations/{disclosure}/approve", {}, page="/inbox").status_code == 403
    office = app.test_client()
    login(office, "jijian")
    listing = office.get("/audit/migrations").get_data(as_text=True)
    assert disclosure in listing and "process_owner" in listing
    resp = post(office, f"/audit/migrations/{disclosure}/approve", {}, page="/audit/migrations")
    assert resp.status_code == 302
    assert _version_of(db, disclosure) == 2
    types = [e["type"] for e in engine.events(disclosure)]
    assert types[-3:] == ["migration_requested", "migration_approved", "instance_migrated"]
    assert [e["actor"] for e in engine.events(disclosure)][-2] == "jijian"
    checked, breaks = audit.verify(db, disclosure)
    assert not breaks
    replayed = office.get(f"/audit/instances/{disclosure}/replay", headers={"Accept": "application/json"}).get_json()
    assert replayed["ok"], replayed             # the request and the approval are no steps of the process
    assert disclosure not in office.get("/audit/migrations").get_data(as_text=True)
