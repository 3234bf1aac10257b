"""The auditor's read-only rule with mixed roles: holding `auditor` makes a person read-only whatever
else they hold (`staff` too), unless a write role is granted as well (`engine.permissions.WRITE_ROLES`)."""
from __future__ import annotations

import sqlalchemy as sa

import pytest

from engine.db.schema import metadata
from engine.db.transactions import write_transaction
from engine.org import people as org
from tests.web.test_authz import MATRIX, _request, campaign_id, clue_id, ids  # noqa: F401  (fixtures)
from tests.web.test_pages import report  # noqa: F401  (fixture)
from tests.conftest import PASSWORD
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def _hire(db, clock, password_hash, username: str, roles: list[str]) -> None:
    with write_transaction(db) as conn:
        org.save_staff(conn, {"username": username, "name": "钱审计", "department": "neike", "roles": roles},
                       clock.now(), password_hash=password_hash)


def _snapshot(db) -> dict:
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in metadata.sorted_tables if t.name != "login_attempt"}


def test_an_auditor_who_is_also_staff_changes_nothing_on_any_page(app, db, clock, password_hash, ids, request):
    ids.update(campaign=request.getfixturevalue("campaign_id"), clue=request.getfixturevalue("clue_id"))
    _hire(db, clock, password_hash, "auditor_staff", ["staff", "auditor"])
    c = app.test_client()
    login(c, "auditor_staff")
    before = _snapshot(db)
    refused = []
    for rule, method, path, *_ in MATRIX:
        # their own password and authenticator are theirs; verify records only itself
        if method == "GET" or rule in ("/account/password", "/account/two-factor", "/audit/verify"):
            continue
        refused.append((rule, _request(c, method, path.format_map(ids), "auditor_staff").status_code))
    assert all(status == 403 for _, status in refused), refused
    assert _snapshot(db) == before


def test_an_auditor_who_is_also_staff_cannot_write_over_the_api(app, db, clock, password_hash, ids):
    _hire(db, clock, password_hash, "auditor_staff", ["staff", "auditor"])
    c = app.test_client()
    token = c.post("/api/v1/auth/token", json={"username": "auditor_staff", "password": PASSWORD}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert c.get(f"/api/v1/instances/{ids['instance']}", headers=auth).status_code == 200
    before = _snapshot(db)
    for path, body in ((f"/api/v1/tasks/{ids['task']}/claim", {}), ("/api/v1/instances", {"process_key": "monthly_report"}),
                       (f"/api/v1/tasks/{ids['task']}/comments", {"body": "x"})):
        resp = c.post(path, json=body, headers=auth)
        assert resp.status_code == 403 and "审计员" in resp.get_json()["message"], path
    assert _snapshot(db) == before


def test_an_auditor_who_also_holds_the_discipline_office_role_may_write(app, db, clock, password_hash, clue_id):
    _hire(db, clock, password_hash, "auditor_office", ["staff", "auditor", "discipline_office"])
    c = app.test_client()
    login(c, "auditor_office")
    resp = post(c, f"/clues/{clue_id}/review", {}, page="/clues")
    assert resp.status_code not in (401, 403) and resp.status_code < 500
    token = c.post("/api/v1/auth/token", json={"username": "auditor_office", "password": PASSWORD}).get_json()["token"]
    resp = c.post("/api/v1/instances", json={"process_key": "monthly_report"}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code not in (401, 403), resp.get_json()
