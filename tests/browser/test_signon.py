"""Signing in where staff already are, and choosing where messages reach them, in real Chromium at a
desktop's and a phone's size: the directory's password on the ordinary form (a real slapd), the
hospital portal's button (the in-test OpenID provider, PKCE), and the page of channels and quiet
hours (免打扰), whose choices decide where a new task's message goes."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from engine.db.schema import message_outbox, staff
from engine.db.transactions import write_transaction
from engine.messages import sender
from engine.signon import doors
from tests.browser.test_inbox import browser, server  # noqa: F401  (fixtures)
from tests.browser.test_task_work import artifacts, open_page, sign_in, size  # noqa: F401  (fixtures)
from tests.helpers.slapd import BASE, SERVICE_DN, SERVICE_PASSWORD
from tests.helpers.sso import CLIENT_ID, CLIENT_SECRET
from tests.web.test_signon import _app, provider, slapd  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


@pytest.fixture
def sso_server(engine, people, provider, slapd):
    app = _app(engine, QINGLIAN_OIDC_ISSUER=provider.issuer, QINGLIAN_OIDC_CLIENT_ID=CLIENT_ID,
               QINGLIAN_OIDC_CLIENT_SECRET=CLIENT_SECRET,
               QINGLIAN_LDAP_URL=slapd.url, QINGLIAN_LDAP_BIND_DN=SERVICE_DN,
               QINGLIAN_LDAP_BIND_PASSWORD=SERVICE_PASSWORD, QINGLIAN_LDAP_BASE_DN=BASE,
               QINGLIAN_LDAP_DEPARTMENTS='{"NK01": "neike", "JJ01": "jijian"}')
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_a_directory_person_signs_in_with_the_directory_password_on_the_ordinary_form(sso_server, open_page, db):
    page = open_page()
    page.goto(f"{sso_server}/login")
    page.fill("#username", "wanghong")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit].primary")
    assert "/login" in page.url and page.locator(".flash.error, [role=alert]").count() >= 1
    page.errors.clear()                           # (the refusal answers 401: the page working)
    page.fill("#username", "wanghong")
    page.fill("#password", "Wang-hong-2026")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{sso_server}/inbox")
    assert "王红" in page.content()
    page.shot("signon-ldap")
    with db.connect() as conn:
        row = conn.execute(sa.select(staff).where(staff.c.username == "wanghong")).one()
    assert row.sign_in_method == "ldap" and row.department == "neike" and row.password_hash is None


def test_a_person_signs_in_through_the_hospital_portal_button(sso_server, open_page, engine, provider):
    doors.set_method(engine, "nurse", "oidc", by="admin")
    provider.user = "nurse"                       # signed in at the portal already
    page = open_page()
    page.goto(f"{sso_server}/login")
    page.click("a:has-text('统一身份认证登录')")
    page.wait_for_url(f"{sso_server}/inbox")
    assert "王护士" in page.content()
    page.shot("signon-oidc")
    assert provider.token_requests[-1]["code_verifier"]          # PKCE from the browser's round trip


def test_a_person_chooses_channels_and_quiet_hours_and_a_new_tasks_message_waits_for_them(
        server, open_page, engine, deploy, db, clock, people):
    with write_transaction(db) as conn:
        conn.execute(staff.update().where(staff.c.username == "nurse2")
                     .values(wecom_userid="wx-nurse2", phone="13800000001", email="nurse2@hospital.test"))
    page = open_page()
    sign_in(page, server, "nurse2")
    page.goto(f"{server}/account/messages")
    assert page.is_disabled("input[name=channels][value=dingtalk]")             # no DingTalk account
    page.uncheck("input[name=channels][value=email]")
    page.check("input[name=channels][value=sms]")
    page.fill("#quiet_start", "22:00")
    page.fill("#quiet_end", "7:30")
    page.click("button[type=submit].primary")
    assert "请按 时:分 填写" in page.content() and page.input_value("#quiet_end") == "7:30"   # kept
    page.shot("messages-refused")
    page.fill("#quiet_end", "07:30")
    page.click("button[type=submit].primary")
    assert "消息设置已保存" in page.content()
    assert page.is_checked("input[name=channels][value=sms]") and not page.is_checked("input[name=channels][value=email]")
    page.shot("messages-saved")

    clock.set(datetime(2026, 9, 28, 15, 0, tzinfo=timezone.utc))               # 23:00 in Beijing
    deploy("deadline_task.bpmn")
    engine.start("deadline_task", started_by="jijian", data={"department": "neike"})
    sender.fan_out(db, clock.now())                 # the scheduler's tick writes the new task's messages
    with db.connect() as conn:
        rows = conn.execute(sa.select(message_outbox).where(message_outbox.c.username == "nurse2")).all()
    assert sorted(r.channel for r in rows) == ["sms", "wecom"]
    assert all(r.next_attempt_at == datetime(2026, 9, 28, 23, 30, tzinfo=timezone.utc) for r in rows)  # 07:30

