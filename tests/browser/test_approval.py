"""The approval operations in real Chromium, at a desktop's 1366×900 and a phone's 390×844: 退回 with
its reason seen by the earlier performer, 后加签 from the task form and the colleague's signature, bulk
同意 with a failure reported on its own line, and 催办 ringing the holder's bell.

Screenshots go to the pytest temporary directory's `artifacts/` folder."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from tests.browser.test_inbox import browser, server  # noqa: F401  (fixtures)
from tests.browser.test_task_work import artifacts, open_page, sign_in, size  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms

FILLED = {"month": "2026-09-01", "progress": "完成了全科廉洁教育"}


def _monthly(engine, department="neike", name="内科", month=9):
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    return engine.start("monthly_report", started_by="jijian", business_key=f"2026-{month:02d} {name}",
                        data={"department": department, "department_name": name})


def _more(page) -> None:
    """On a phone the other actions fold behind 更多操作."""
    if page.locator("details.more-actions").get_attribute("open") is None:
        page.click("details.more-actions > summary")


def test_a_report_sent_back_reaches_its_author_with_the_reason_and_their_text(server, open_page, engine, people):
    view = _monthly(engine)
    report = view.tasks[0].id
    review = engine.complete_task(report, user="neike_head", data=FILLED).tasks[0].id
    office = open_page()
    sign_in(office, server, "jijian")
    office.goto(f"{server}/tasks/{review}")
    _more(office)
    office.click("details.handover:has(#send-back-reason) > summary")
    office.fill("#send-back-reason", "进展写得太笼统，请补充具体数字")
    office.shot("approval-send-back")
    office.click("button:has-text('退回上一步')")
    office.wait_for_url(f"{server}/inbox")
    assert "已退回" in office.content()

    head = open_page()
    sign_in(head, server, "neike_head")
    head.goto(f"{server}/tasks/{report}")
    banner = head.locator("[data-testid=sent-back]")
    assert banner.is_visible() and "进展写得太笼统，请补充具体数字" in banner.inner_text()
    assert "陈纪检" in banner.inner_text()
    assert head.input_value("[name=progress]") == "完成了全科廉洁教育"      # their previous submission
    head.shot("approval-sent-back-seen")


def test_a_signer_added_after_agrees_and_the_holders_form_is_submitted(server, open_page, engine, deploy, people):
    deploy("approval_rules.bpmn")
    view = engine.start("approval_rules", started_by="jijian")
    review = engine.complete_task(view.tasks[0].id, user="jijian", data={}).tasks[0].id
    engine.claim(review, user="neike_head")
    head = open_page()
    sign_in(head, server, "neike_head")
    head.goto(f"{server}/tasks/{review}")
    head.click("#add-signer-after > summary")
    head.select_option("#after-signer", "jijian")       # drafted the opinion: separation of duties refuses
    head.fill("#after-signer-reason", "请纪检监察室会签")
    head.click("button:has-text('提交并后加签')")
    error = head.locator("[data-testid=signer-error]")
    assert error.is_visible() and "职责分离" in error.inner_text()
    assert head.input_value("#after-signer-reason") == "请纪检监察室会签"   # kept
    head.shot("approval-signer-refused")
    head.select_option("#after-signer", "waike_head")
    head.click("button:has-text('提交并后加签')")
    head.wait_for_url(f"{server}/tasks/{review}")
    assert "待签署" in head.locator("[data-testid=signers]").inner_text()

    colleague = open_page()
    sign_in(colleague, server, "waike_head")
    colleague.goto(f"{server}/signatures")
    colleague.click("a:has-text('审核处置意见')")
    colleague.fill("#opinion", "同意，注意时限")
    colleague.shot("approval-signature")
    colleague.click("button:has-text('签署')")
    colleague.wait_for_url(f"{server}/signatures")
    task = engine.task(review)
    assert task.status == "completed" and task.completed_by == "neike_head"
    head.goto(f"{server}/tasks/{review}")
    assert "同意，注意时限" in head.locator("[data-testid=signers]").inner_text()


def test_bulk_approval_reports_the_task_a_colleague_finished_meanwhile(server, open_page, engine, people):
    reviews = []
    for month in (7, 8, 9):
        view = _monthly(engine, month=month)
        reviews.append(engine.complete_task(view.tasks[0].id, user="neike_head", data=FILLED).tasks[0])
    page = open_page()
    sign_in(page, server, "jijian")
    page.goto(f"{server}/inbox?view=claimable")
    for r in reviews:
        page.check(f"input[name=task_ids][value='{r.id}']")
    page.select_option("#bulk-action", "complete")
    engine.complete_task(reviews[1].id, user="jijian", data={"accepted": True})    # done meanwhile
    page.click("button:has-text('批量执行')")
    page.wait_for_url(f"{server}/inbox")
    text = page.content()
    assert "成功 2 个，失败 1 个" in text
    assert f"任务“{reviews[1].name}”" in text                    # the failure on its own line
    page.shot("approval-bulk-partial")
    assert all(engine.task(r.id).status == "completed" for r in reviews)


def test_an_urge_rings_the_holders_bell_and_leads_to_the_task(server, open_page, engine, people):
    view = _monthly(engine)
    report = view.tasks[0].id
    engine.claim(report, user="neike_head")
    office = open_page()
    sign_in(office, server, "jijian")
    office.goto(f"{server}/tasks/{report}")
    _more(office)
    office.click("details.handover:has(#urge-message) > summary")
    office.fill("#urge-message", "请今天下班前提交月报")
    office.click("details.handover:has(#urge-message) button[type=submit]")
    office.wait_for_url(f"{server}/tasks/{report}")
    assert "已催办（第 1 次）" in office.content()

    head = open_page()
    sign_in(head, server, "neike_head")
    assert head.inner_text("[data-testid=bell-count]") == "1"
    head.click("[data-testid=bell]")
    note = head.locator("[data-testid=notification]").first
    assert "请今天下班前提交月报" in note.inner_text() and "催办" in note.inner_text()
    head.shot("approval-urge-bell")
    note.locator("button").click()
    head.wait_for_url(f"{server}/tasks/{report}")
    assert "已被催办 1 次" in head.locator("[data-testid=urges]").inner_text()
