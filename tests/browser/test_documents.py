"""Official documents in a real browser: a department head fills in the monthly report, saves a
draft, generates the 月度工作进展报告 from the task page, reads the preview, downloads the Word
file and the PDF, and finds the document listed again on the task page."""
from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.documents import pdf
from tests.browser.test_inbox import browser, server, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


def test_a_head_generates_previews_and_downloads_the_monthly_report_from_the_task_page(server, browser, engine,
                                                                                      people):
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                 data={"department": "neike", "department_name": "内科"})

    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "neike_head")
    page.click("a[href='/inbox?view=claimable']")
    page.click("text=填报月度工作进展")
    page.wait_for_selector("#documents[data-ready=true]")
    assert page.locator("#documents").is_visible()
    assert "月度工作进展报告" in page.inner_text("#documents")

    page.fill("[name=progress]", "完成全院动员部署，开展谈心谈话12人次")
    page.fill("[name=problems]", "个别科室自查不深入")
    page.click("button[value=draft]")
    page.wait_for_selector("#documents[data-ready=true]")
    page.click("[data-testid='generate-月度工作进展报告']")
    page.wait_for_selector("[data-testid=document-preview]")
    preview = page.inner_text("[data-testid=document-preview]")
    assert "专项整治工作进展情况报告" in preview
    assert "完成全院动员部署，开展谈心谈话12人次" in preview and "个别科室自查不深入" in preview
    assert "X纪报〔2026〕1号" in page.inner_text("[data-testid=document-number]")
    shot(page, "documents-01-preview")

    with page.expect_download() as word:
        page.click("[data-testid=download-docx]")
    docx = open(word.value.path(), "rb").read()
    assert "完成全院动员部署".encode() in zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml")
    assert word.value.suggested_filename.endswith(".docx")

    if pdf.available():
        with page.expect_download(timeout=120_000) as printed:
            page.click("[data-testid=download-pdf]")
        text = "".join(PdfReader(printed.value.path()).pages[0].extract_text().split())
        assert "个别科室自查不深入" in text and "—1—" in text

    page.click("text=返回任务")
    page.wait_for_selector("#documents[data-ready=true]")
    assert "X纪报〔2026〕1号" in page.inner_text("#documents")
    shot(page, "documents-02-task-page")
    assert errors == []
