"""The personal integrity file (廉政档案, seed 001: 一人一档) in real headless Chromium under the strict
CSP, on a desktop and a phone: the office opens 王护士's file from the list, reads her talk, her
disclosure and the clue about her, and the file prints alone (no menus, no buttons). Screenshots go to
test-artifacts/."""
from __future__ import annotations

import pytest

from tests.engine.campaign.reports_scenario import scenario  # noqa: F401  (fixture)
from tests.browser.test_inbox import ARTIFACTS, browser, server, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


@pytest.fixture
def vault(app):
    return app.extensions["qinglian_reporter_vault"]


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_office_opens_a_file_and_it_prints_alone(server, browser, scenario, size):
    page = browser.new_page(locale="zh-CN", viewport={"width": size[0], "height": size[1]})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(page, server, "jijian")
    page.goto(f"{server}/records/people?q=王护士")
    page.click("[data-testid=people] a:text('王护士')")
    page.wait_for_selector("[data-testid=person-file]")
    assert page.locator("[data-testid=file-talks] tbody tr").count() == 1
    assert "问题1" in page.inner_text("[data-testid=file-disclosures]")
    assert "反映王护士态度问题" in page.inner_text("[data-testid=file-clues]")
    assert page.locator("[data-testid=print-file]").is_visible()
    name = "desktop" if size[0] > 600 else "phone"
    shot(page, f"person-file-{name}")
    page.emulate_media(media="print")
    assert not page.locator(".mainnav").is_visible() and not page.locator("[data-testid=print-file]").is_visible()
    assert page.locator("[data-testid=person-file]").is_visible()
    if name == "desktop":
        pdf = page.pdf(path=str(ARTIFACTS / "person-file.pdf"), format="A4")
        assert pdf.startswith(b"%PDF")
    assert not errors, errors
