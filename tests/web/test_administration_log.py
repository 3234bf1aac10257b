"""Every account, role and password change is an event of the hash-chained administration log that
auditors read; a password reset by an administrator makes the owner choose a new one at next sign-in."""
from __future__ import annotations

from engine.audit import verify as audit
from tests.conftest import PASSWORD
from tests.helpers.web import login, post

FORM = {"name": "王护士", "department": "neike", "position_level": "other", "locale": "zh", "active": "1"}


def test_account_role_and_password_changes_are_chained_events_auditors_read(app, db, people):
    admin, security = app.test_client(), app.test_client()
    login(admin, "admin")
    login(security, "security")
    assert post(admin, "/admin/staff/new", {**FORM, "username": "newbie", "name": "新职工", "roles": ["staff"],
                                            "password": "First-pass-77"}, page="/admin/staff/new").status_code == 302
    assert post(security, "/admin/staff/nurse", {**FORM, "roles": ["staff", "discipline_office"]},
                page="/admin/staff/nurse").status_code == 302
    assert post(security, "/admin/staff/nurse", {**FORM, "roles": ["staff"], "password": "Reset-by-admin-9"},
                page="/admin/staff/nurse").status_code == 302

    auditor = app.test_client()
    login(auditor, "auditor")
    page = auditor.get("/audit/administration").get_data(as_text=True)
    assert "account_created" in page and "newbie" in page
    assert "roles_changed" in page and "discipline_office" in page
    assert "password_reset" in page and "钱安全" in page          # the administrator, by name
    assert "Reset-by-admin-9" not in page and "argon2" not in page
    checked, breaks = audit.verify(db, "administration")
    assert checked >= 4 and not breaks
    staff = app.test_client()
    login(staff, "surgeon")
    assert staff.get("/audit/administration").status_code == 403


def test_after_a_reset_the_owner_must_choose_a_new_password_before_anything_else(app, people):
    admin = app.test_client()
    login(admin, "admin")
    assert post(admin, "/admin/staff/nurse", {**FORM, "roles": ["staff"], "password": "Reset-by-admin-9"},
                page="/admin/staff/nurse").status_code == 302
    c = app.test_client()
    resp = login(c, "nurse", "Reset-by-admin-9")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    resp = c.get("/inbox")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    refused = c.post("/api/v1/auth/token", json={"username": "nurse", "password": "Reset-by-admin-9"})
    assert refused.status_code == 401
    resp = post(c, "/account/password", {"old_password": "Reset-by-admin-9", "new_password": "Mine-again-42",
                                         "confirm_password": "Mine-again-42"}, page="/account/password")
    assert resp.status_code == 302
    assert c.get("/inbox").status_code == 200
    assert c.post("/api/v1/auth/token", json={"username": "nurse", "password": "Mine-again-42"}).status_code == 201
    assert PASSWORD != "Mine-again-42"
