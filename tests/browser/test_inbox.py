"""The inbox in a real browser: Debian's headless Chromium driven by Playwright.

A department head signs in, opens the monthly report from the inbox, submits it with mistakes and
sees the field errors, submits it correctly; the discipline office then signs in and finds the
review task. Screenshots go to test-artifacts/ for a person to look at.
"""
from __future__ import annotations

import re
import threading

import pyotp
import pytest
from werkzeug.serving import make_server

from engine.config import PROJECT_ROOT
from engine.bpmn.validation import SourceFile
from engine.org import two_factor
from tests.conftest import PASSWORD
from tests.helpers.web import totp_code

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

ARTIFACTS = PROJECT_ROOT / "test-artifacts"

_APPS: dict = {}          # the app each running server serves (sign_in answers its second step)


@pytest.fixture
def server(app):
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_port}"
    _APPS[base] = app
    yield base
    _APPS.pop(base, None)
    srv.shutdown()


class _Pages:
    """The shared Chromium as a test sees it: each `new_page` opens in a fresh context (no cookies or
    storage from another test), closed when the test ends."""

    def __init__(self, chromium):
        self._chromium = chromium
        self._pages = []

    def new_page(self, **options):
        page = self._chromium.new_page(**options)
        self._pages.append(page)
        return page

    def close(self) -> None:
        for page in self._pages:
            page.context.close()


@pytest.fixture
def browser(chromium):
    pages = _Pages(chromium)
    yield pages
    pages.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(page, base: str, username: str) -> None:
    """Sign in in the page's browser context and open the inbox. The sign-in forms are sent over HTTP
    from that context (its cookies), not typed: typing them is `sign_in_by_form`'s test, below, and a
    page test that typed them at every sign-in spent a third of its time there."""
    http = page.context.request

    def send(path: str, **fields):
        form = http.get(f"{base}{path}").text()
        return http.post(f"{base}{path}", form={**fields, "csrf_token": _CSRF.search(form).group(1)},
                         max_redirects=0)

    answer = send("/login", username=username, password=PASSWORD)
    assert answer.status == 302, answer.text()
    where = answer.headers["location"]
    if where.endswith("/login/two-factor"):
        answer = send("/login/two-factor", code=totp_code(_APPS[base], username))
    elif where.endswith("/login/enrol"):               # a privileged person a test made: enrol first
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', http.get(f"{base}/login/enrol").text())[1]
        step = int(_APPS[base].extensions["qinglian"].clock.now().timestamp()) // two_factor.STEP
        answer = send("/login/enrol", code=pyotp.TOTP(secret).generate_otp(step))
        assert answer.status == 200 and "recovery-codes" in answer.text(), answer.text()   # shown once
    else:
        assert where.endswith("/inbox"), where
    assert answer.status in (200, 302), answer.text()
    page.goto(f"{base}/inbox")


def sign_in_by_form(page, base: str, username: str) -> None:
    """Sign in by typing into the sign-in pages, as a person does (with the second step where asked)."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/(inbox|login/two-factor|login/enrol)$"))
    if page.url.endswith("/login/two-factor"):       # a privileged role: the authenticator's code
        page.fill("#code", totp_code(_APPS[base], username))
        page.click("button[type=submit].primary")
    elif page.url.endswith("/login/enrol"):          # a privileged person a test made: enrol, as at a first sign-in
        secret = page.inner_text("#totp-secret").strip()
        eng = _APPS[base].extensions["qinglian"]
        step = int(eng.clock.now().timestamp()) // two_factor.STEP
        page.fill("#code", pyotp.TOTP(secret).generate_otp(step))
        page.click("button[type=submit].primary")
        page.click("a.button.primary")                # the recovery codes shown once: 我已保存，继续
    page.wait_for_url(f"{base}/inbox")


def test_head_reports_and_the_discipline_office_finds_the_review(server, browser, engine, people):
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                 data={"department": "neike", "department_name": "内科"})

    page = browser.new_page(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_by_form(page, server, "neike_head")
    page.click("a[href='/inbox?view=claimable']")
    page.click("text=填报月度工作进展")
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.locator(".djs-element.ql-active").count() >= 1        # the current step is marked
    shot(page, "01-task-page")

    page.fill("[name=progress]", "")
    page.fill("[name=problems]", "个别科室动员不到位")
    page.click("button[value=complete]")
    error = page.locator("[aria-invalid=true]")
    assert error.count() >= 1
    assert "请填写" in page.content()
    assert page.input_value("[name=problems]") == "个别科室动员不到位"   # what was typed is kept
    shot(page, "02-field-errors")

    page.fill("[name=month]", "2026-09-01")
    page.fill("[name=progress]", "全科完成廉洁从业教育，签订承诺书 32 份")
    page.click("button[value=complete]")
    page.wait_for_url(f"{server}/inbox")
    assert "已完成" in page.content()
    shot(page, "03-completed")

    page.click("button:has-text('退出')")
    sign_in_by_form(page, server, "jijian")         # a privileged role: the second step typed too
    page.click("a[href='/inbox?view=claimable']")
    assert page.locator("text=审核月报").count() == 1
    shot(page, "04-reviewer-inbox")
    assert not errors, errors
