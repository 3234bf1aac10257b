"""Process analytics in real headless Chromium under the strict CSP, at desktop and phone sizes: the
diagram draws with each step coloured and labelled, the bars and tables show the figures, the date
range narrows them, and the export downloads. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser.test_inbox import browser, server, shot, sign_in  # noqa: F401  (fixtures)
from tests.browser.test_reports import _watch
from tests.web.test_analytics import w1  # noqa: F401  (fixture)


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_owner_reads_a_versions_analytics_on_its_diagram(server, browser, w1, size):
    page = browser.new_page(locale="zh-CN", viewport={"width": size[0], "height": size[1]})
    errors = _watch(page)
    sign_in(page, server, "owner")
    if size[0] < 640:
        page.click("label.nav-toggle-label")                     # the folded menu
    page.click("a[href='/analytics']")
    page.click(f"a[href='/analytics/versions/{w1}']")
    page.wait_for_selector("#heatmap-diagram[data-ready=true]")
    fill = page.locator(".djs-element[data-element-id=fill]")
    assert "ql-heat-4" in fill.get_attribute("class")           # the slowest step, darkest
    assert "ql-heat-2" in page.locator(".djs-element[data-element-id=review]").get_attribute("class")
    assert page.locator(".ql-heat-badge", has_text="中位 2.0 小时 · P90 6.0 小时 · 超期 50%").count() == 1
    bars = page.locator("[data-testid=analytics-bars] li")
    assert bars.count() == 2 and bars.first.locator(".bar-median").is_visible()
    assert "填写 → 填写 → Review" in page.locator("[data-testid=analytics-variants]").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")   # nothing runs off a phone
    shot(page, f"analytics-{'phone' if size[0] < 640 else 'desktop'}")
    page.fill("input[name=from]", "2026-09-29")
    page.fill("input[name=to]", "2026-09-29")
    page.click("form.analytics-range button[type=submit]")
    page.wait_for_selector("text=已完成 1 个实例")
    page.wait_for_selector("#heatmap-diagram[data-ready=true]")
    assert page.locator("[data-testid=analytics-bars] li").count() == 1
    with page.expect_download() as download:
        page.click("[data-testid=analytics-export]")
    assert download.value.suggested_filename == "analytics-w1_process-v1.xlsx"
    assert not errors, errors
