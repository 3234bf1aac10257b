"""Official documents over HTTP: the task page's section, generating, preview and downloads, the
documents of a clue, the template pages, and who may do what."""
from __future__ import annotations

import io
import zipfile

import pytest

from engine.clues import intake as clues_intake
from tests.helpers.web import login, post
from tests.helpers.docx import with_text

pytestmark = pytest.mark.real_forms


@pytest.fixture
def clue(engine, people, app, shipped):
    vault = app.extensions["qinglian_reporter_vault"]
    registered = clues_intake.register(engine, vault, {
        "person_name": "刘某", "person_position": "医生", "person_department": "neike", "position_level": "other",
        "party_member": True, "summary": "反映刘某收受患者红包。", "source": "petition", "channel": "letter",
        "received_on": "2026-09-25", "real_name": True}, started_by="jijian", reporter_name="张三",
        reporter_contact="13900001111")
    task = next(t for t in engine.show(registered.instance_id).tasks if t.element_id == "acceptance_notice")
    return registered.instance_id, task.id


def test_the_office_generates_the_acceptance_notice_previews_and_downloads_it(app, clue):
    instance_id, task_id = clue
    c = app.test_client()
    login(c, "jijian")
    section = c.get(f"/tasks/{task_id}/documents")
    assert section.status_code == 200 and "受理告知书" in section.text and "生成" in section.text
    made = post(c, f"/tasks/{task_id}/documents", {"kind": "受理告知书"}, page=f"/tasks/{task_id}")
    assert made.status_code == 302 and "/documents/" in made.location
    page = c.get(made.location)
    assert page.status_code == 200
    assert "X纪告〔2026〕1号" in page.text and "张三：" in page.text and "刘某" in page.text
    doc_id = made.location.split("/documents/")[1].split("?")[0]
    docx = c.get(f"/documents/{doc_id}.docx")
    assert docx.status_code == 200 and docx.headers["Content-Disposition"].startswith("attachment")
    assert zipfile.ZipFile(io.BytesIO(docx.data)).read("word/document.xml")
    listed = c.get(f"/instances/{instance_id}/documents")
    assert "受理告知书" in listed.text and "X纪告〔2026〕1号" in listed.text


def test_the_reporter_notice_is_hidden_from_an_auditor_and_others_may_not_generate(app, clue):
    instance_id, task_id = clue
    office = app.test_client()
    login(office, "jijian")
    made = post(office, f"/tasks/{task_id}/documents", {"kind": "受理告知书"}, page=f"/tasks/{task_id}")
    doc_id = made.location.split("/documents/")[1].split("?")[0]
    auditor = app.test_client()
    login(auditor, "auditor")
    assert auditor.get(f"/documents/{doc_id}").status_code == 404
    assert auditor.get(f"/documents/{doc_id}.docx").status_code == 404
    assert "受理告知书" not in auditor.get(f"/instances/{instance_id}/documents").text
    nurse = app.test_client()
    login(nurse, "nurse")
    assert post(nurse, f"/tasks/{task_id}/documents", {"kind": "受理告知书"}).status_code in (403, 404)
    assert nurse.get(f"/instances/{instance_id}/documents").status_code in (403, 404)


def test_an_unknown_placeholder_is_refused_on_the_template_page_with_the_field_named(app, clue):
    from engine.documents import kinds, templates
    c = app.test_client()
    login(c, "owner")
    assert "受理告知书" in c.get("/modeler/documents").text
    data = templates.shipped(kinds.kind("受理告知书"))
    bad = with_text(data, "{{ reporter_name }}", "{{ reporter_salary }}")
    answer = post(c, "/modeler/documents/受理告知书", {"template": (io.BytesIO(bad), "新版.docx"), "note": "试"},
                  page="/modeler/documents", content_type="multipart/form-data")
    assert answer.status_code == 422
    assert "reporter_salary" in answer.text and "不是流程提供的字段" in answer.text
    ok = post(c, "/modeler/documents/受理告知书", {"template": (io.BytesIO(with_text(data, "已依规受理", "已受理")), "新版.docx")},
              page="/modeler/documents", content_type="multipart/form-data")
    assert ok.status_code == 302
    assert "v2" in c.get("/modeler/documents/受理告知书").text
    nurse = app.test_client()
    login(nurse, "nurse")
    assert nurse.get("/modeler/documents").status_code == 403
