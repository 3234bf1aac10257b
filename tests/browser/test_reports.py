"""The dashboard and a report in real headless Chromium under the strict CSP: the charts draw, a
click on a bar or a slice opens the list behind it, and a report prints alone (print media: no
navigation, no form; a PDF). Screenshots go to test-artifacts/ for a person to see."""
from __future__ import annotations

import pytest

from tests.engine.campaign.reports_scenario import scenario  # noqa: F401  (fixture)
from tests.browser.test_inbox import ARTIFACTS, browser, server, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


@pytest.fixture
def vault(app):
    return app.extensions["qinglian_reporter_vault"]


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return errors


def _click_item(page, chart_id: str, x_index: int, value: float, series: int = 0) -> None:
    """Click inside a bar: ECharts converts the data point to pixels within its box."""
    x, y = page.evaluate("([id, s, xi, v]) => echarts.getInstanceByDom(document.getElementById(id))"
                         ".convertToPixel({seriesIndex: s}, [xi, v])", [chart_id, series, x_index, value])
    box = page.locator(f"#{chart_id}").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_the_dashboard_draws_every_chart_and_a_click_opens_the_list_behind_it(server, browser, scenario):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 1600})
    errors = _watch(page)
    sign_in(page, server, "jijian")
    page.click("a[href='/reports']")
    page.click("text=数据看板")
    page.wait_for_selector("#dashboard[data-ready=true]")
    for chart in ("progress", "overdue", "sources", "disposals", "status", "forms", "feedback"):
        assert page.locator(f"#chart-{chart} canvas").count() >= 1, chart
    shot(page, "reports-dashboard")
    _click_item(page, "chart-overdue", 0, 2)                     # 检验科: 6 overdue tasks (talks too)
    page.wait_for_url("**/overdue?department=jianyanke")
    assert page.locator("#overdue-list tbody tr").count() == 6 and "召开动员部署会" in page.content()
    page.go_back()
    page.wait_for_selector("#dashboard[data-ready=true]")
    _click_item(page, "chart-disposals", 1, 1.5)                 # 初步核实: three clues
    page.wait_for_url("**/clues?disposal=verify")
    assert "钱主任" in page.content() and "张主任" not in page.content()
    assert not errors, errors


def test_a_report_prints_alone_on_its_page(server, browser, scenario):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors = _watch(page)
    sign_in(page, server, "jijian")
    page.goto(f"{server}/reports/{scenario.campaign}/outcomes")
    page.fill("input[name=cutoff]", "2026-10-31")
    page.fill("input[name=phone]", "82676537")
    page.fill("input[name=reviewer]", "冯书记")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("text=联系电话：82676537")
    assert page.locator("#sheet tbody tr").count() == 3
    assert page.locator(".topbar").is_visible() and page.locator("#report-form").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible() and not page.locator("#report-form").is_visible()
    assert page.locator("#sheet").is_visible() and page.locator(".signature").is_visible()
    shot(page, "report-outcomes-print")
    pdf = page.pdf(path=str(ARTIFACTS / "report-outcomes.pdf"), format="A4", landscape=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename == "outcomes-20261031.xlsx"
    assert not errors, errors


def test_the_dashboard_tooltips_show_on_hover_without_breaking_the_csp(server, browser, scenario):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 1600})
    errors = _watch(page)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, server, "jijian")
    page.goto(f"{server}/reports/{scenario.campaign}/dashboard")
    page.wait_for_selector("#dashboard[data-ready=true]")
    for chart, x_index, value in (("chart-overdue", 0, 2), ("chart-disposals", 1, 1.5)):
        x, y = page.evaluate("([id, xi, v]) => echarts.getInstanceByDom(document.getElementById(id))"
                             ".convertToPixel({seriesIndex: 0}, [xi, v])", [chart, x_index, value])
        box = page.locator(f"#{chart}").bounding_box()
        count = "(id) => echarts.getInstanceByDom(document.getElementById(id)).getZr().storage.getDisplayList().length"
        before = page.evaluate(count, chart)
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(400)
        assert page.evaluate(count, chart) > before, chart        # the tooltip is drawn on the chart
    shot(page, "reports-dashboard-tooltip")
    assert not errors, errors
