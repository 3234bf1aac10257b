"""三员分立: the system administrator keeps the organisation but neither grants the office's roles nor
resets an office member's password (the attack: an administrator resets the discipline office's
password, signs in as them and reveals a reporter); the security administrator does, never for
themselves, and holds none of the office's roles; the audit administrator reads the administration
log and changes nothing. A reset tells the account's owner."""
from __future__ import annotations

from engine.deadlines import notifications
from engine.org import people as org
from tests.helpers.web import login, post


NURSE = {"name": "王护士", "department": "neike", "position_level": "other", "locale": "zh", "active": "1"}
JIJIAN = {**NURSE, "name": "陈纪检", "department": "jijian"}


def _roles(app, username: str) -> set[str]:
    return set(org.staff_form(app.extensions["qinglian"], username, locale="zh")["values"]["roles"])


def _signed_in(app, who: str, password: str) -> bool:
    c = app.test_client()
    resp = login(c, who, password)
    return resp.status_code == 302 and "/login" not in resp.headers["Location"]


def test_the_system_administrator_cannot_take_over_an_office_account(app, people):
    admin = app.test_client()
    login(admin, "admin")
    resp = post(admin, "/admin/staff/jijian", {**JIJIAN, "roles": ["staff", "discipline_office"],
                                               "password": "Taken-over-99"}, page="/admin/staff/jijian")
    assert resp.status_code == 422 and "须由安全管理员办理" in resp.get_data(as_text=True)
    assert 'value="Taken-over-99"' not in resp.get_data(as_text=True)     # a password is never echoed
    assert not _signed_in(app, "jijian", "Taken-over-99")
    # …nor hand the office's roles to anyone, themselves or a colleague
    resp = post(admin, "/admin/staff/nurse", {**NURSE, "roles": ["staff", "discipline_office"]},
                page="/admin/staff/nurse")
    assert resp.status_code == 422 and "王护士" in resp.get_data(as_text=True)         # the input kept
    assert _roles(app, "nurse") == {"staff"}
    # the ordinary work goes on: an ordinary person's roles and password
    assert post(admin, "/admin/staff/nurse", {**NURSE, "roles": ["staff", "task_force"], "password": "Reset-nurse-77"},
                page="/admin/staff/nurse").status_code == 302
    assert _roles(app, "nurse") == {"staff", "task_force"}


def test_the_security_administrator_grants_office_roles_but_never_to_themselves(app, people):
    security = app.test_client()
    login(security, "security")
    assert post(security, "/admin/staff/nurse", {**NURSE, "roles": ["staff", "discipline_office"]},
                page="/admin/staff/nurse").status_code == 302
    assert _roles(app, "nurse") == {"staff", "discipline_office"}
    me = {**NURSE, "name": "钱安全", "department": "xinxi"}
    resp = post(security, "/admin/staff/security", {**me, "roles": ["staff", "security_admin", "discipline_office"]},
                page="/admin/staff/security")
    assert resp.status_code == 422 and "三员分立" in resp.get_data(as_text=True)
    resp = post(security, "/admin/staff/security", {**me, "roles": ["staff", "security_admin", "department_head"]},
                page="/admin/staff/security")
    assert resp.status_code == 422 and "不能更改自己的角色" in resp.get_data(as_text=True)
    assert _roles(app, "security") == {"staff", "security_admin"}
    # no one holds two of the three administrators' roles, nor an administrator an office role
    for roles in (["staff", "admin", "security_admin"], ["staff", "audit_admin", "auditor"]):
        resp = post(security, "/admin/staff/surgeon", {**NURSE, "name": "赵医生", "department": "waike", "roles": roles},
                    page="/admin/staff/surgeon")
        assert resp.status_code == 422 and "三员分立" in resp.get_data(as_text=True)
    assert _roles(app, "surgeon") == {"staff"}


def test_a_reset_by_the_security_administrator_is_told_to_the_owner(app, people):
    security = app.test_client()
    login(security, "security")
    assert post(security, "/admin/staff/jijian", {**JIJIAN, "roles": ["staff", "discipline_office"],
                                                  "password": "Reset-office-88"}, page="/admin/staff/jijian").status_code == 302
    eng = app.extensions["qinglian"]
    told = notifications.for_user(eng.db, "jijian", ["staff", "discipline_office"], "jijian")
    assert [n["kind"] for n in told] == ["password_reset"] and "security" in told[0]["body"]
    assert not notifications.for_user(eng.db, "nurse", ["staff"], "neike")


def test_the_audit_administrator_reads_the_administration_log_and_changes_nothing(app, people):
    security = app.test_client()
    login(security, "security")
    post(security, "/admin/staff/nurse", {**NURSE, "roles": ["staff", "task_force"]}, page="/admin/staff/nurse")
    auditadmin = app.test_client()
    login(auditadmin, "auditadmin")
    page = auditadmin.get("/audit/administration")
    assert page.status_code == 200 and "roles_changed" in page.get_data(as_text=True)
    assert auditadmin.get("/admin/staff").status_code == 403
    assert post(auditadmin, "/account/locale", {"locale": "en"}).status_code == 302
    assert post(auditadmin, "/tasks/x/comments", {"body": "x"}).status_code == 403
