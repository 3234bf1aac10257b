"""The campaign page in a real browser: the matrix with its progress bars and the ECharts chart of
completion over time, under the strict CSP. A screenshot goes to test-artifacts/ for a person to see."""
from __future__ import annotations

import pytest

from tests.browser.test_inbox import browser, server, shot, sign_in  # noqa: F401  (fixtures)
from tests.web.test_campaign import campaign_id  # noqa: F401  (fixture)

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def test_the_campaign_page_shows_the_matrix_and_draws_the_chart(server, browser, engine, campaign_id, db):
    import sqlalchemy as sa
    from engine.db.schema import human_task
    with db.connect() as conn:
        meeting = conn.execute(sa.select(human_task.c.id).where(human_task.c.element_id == "meeting",
                                                                human_task.c.candidate_department == "neike")).scalar()
    engine.complete_task(meeting, user="neike_head", data={"meeting_date": "2026-09-28", "attendance": 3})

    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(page, server, "jijian")
    page.click("a[href='/campaigns']")
    page.click("text=医疗服务行业腐败问题专项整治")
    page.wait_for_selector("#campaign-chart[data-ready=true]")
    assert page.locator("#campaign-chart canvas").count() >= 1          # ECharts drew
    rows = page.locator("#matrix tbody tr")
    assert rows.count() == 2 and "内科" in rows.nth(0).inner_text() + rows.nth(1).inner_text()
    bar = page.locator("#matrix td.cell.progress .bar > span").first
    assert bar.evaluate("el => el.style.width") not in ("", "0%")       # sized by script, not inline style
    shot(page, "campaign-page")
    page.click("#matrix a >> nth=0")                                    # 内科's mobilization: whom each talk is with
    # the drill-down names whom each talk is for: the task is "一对一谈心谈话：王护士"
    assert "召开动员部署会" in page.content() and page.locator("text=一对一谈心谈话：王护士").count() == 1
    assert page.locator("text=一对一谈心谈话").count() == 2
    assert not errors, errors
