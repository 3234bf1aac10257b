"""廉政档案 and 医德考评 over HTTP (seed 001: 一人一档; seed 003: 季度考核记分、一票否决): who reads which file,
and what a wrong entry or a wrong workbook says on the page."""
from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from openpyxl import Workbook

from engine.clues import intake as clues_intake
from engine.clues.confidential import ReporterVault
from tests.helpers.web import csrf, login

pytestmark = pytest.mark.real_forms


@pytest.fixture
def clue_about_nurse(engine, people, shipped):
    return clues_intake.register(engine, ReporterVault(Fernet.generate_key()), {
        "person_username": "nurse", "person_name": "王护士", "person_department": "neike",
        "position_level": "other", "party_member": False, "summary": "反映王护士收受患者家属购物卡",
        "source": "petition", "channel": "letter", "received_on": "2026-10-20", "real_name": False},
        started_by="jijian").instance_id


def page(client, user, path):
    login(client, user)
    resp = client.get(path)
    return resp.status_code, resp.get_data(as_text=True)


def test_a_nurse_reads_her_own_file_without_the_clue_about_her(client, clue_about_nurse):
    login(client, "nurse")
    resp = client.get("/records/people")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/records/people/nurse")
    resp = client.get("/records/people/nurse")
    status, html = resp.status_code, resp.get_data(as_text=True)
    assert status == 200 and "王护士" in html and "医务人员廉政档案" in html
    assert "问题线索及处理结果" not in html and "购物卡" not in html


def test_the_office_reads_the_clue_and_a_colleague_cannot_open_the_file(app, clue_about_nurse):
    status, html = page(app.test_client(), "jijian", "/records/people/nurse")
    assert status == 200 and "反映王护士收受患者家属购物卡" in html
    status, _ = page(app.test_client(), "nurse2", "/records/people/nurse")
    assert status == 403


def test_her_head_sees_talks_and_scores_but_no_clue_or_disclosure(app, clue_about_nurse):
    status, html = page(app.test_client(), "neike_head", "/records/people/nurse")
    assert status == 200 and "谈心谈话" in html and "医德考评" in html
    assert "购物卡" not in html and "主动说明问题" not in html
    assert page(app.test_client(), "waike_head", "/records/people/nurse")[0] == 403


def test_a_wrong_score_is_said_next_to_its_field_and_what_was_typed_stays(client, people):
    login(client, "neike_head")
    resp = client.post("/records/conduct", data={
        "csrf_token": csrf(client, "/records/conduct"), "department": "neike", "person": "nurse", "year": "2026",
        "quarter": "3", "kind": ["minus", "plus"], "points": ["abc", ""], "reason": ["迟到", ""], "veto": "yes",
        "veto_reason": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "分值应为数字，如 2 或 0.5" in html and "一票否决须写明事由" in html and 'value="abc"' in html
    resp = client.post("/records/conduct", data={
        "csrf_token": csrf(client, "/records/conduct"), "department": "neike", "person": "nurse", "year": "2026",
        "quarter": "3", "kind": ["minus"], "points": ["2"], "reason": ["病历不规范"]})
    assert resp.status_code == 302
    html = client.get("/records/conduct?department=neike&year=2026&quarter=3").get_data(as_text=True)
    assert "98" in html


def test_a_workbook_with_a_wrong_row_is_refused_row_by_row_on_the_page(client, people):
    wb = Workbook()
    wb.active.append(["工号", "姓名", "年度", "季度", "加分", "加分事由"])
    wb.active.append(["nurse", "王护士", 2026, 3, 2, "表扬"])
    wb.active.append(["surgeon", "赵医生", 2026, 3, 1, "表扬"])
    out = io.BytesIO()
    wb.save(out)
    login(client, "neike_head")
    resp = client.post("/records/conduct/import", data={
        "csrf_token": csrf(client, "/records/conduct"), "file": (io.BytesIO(out.getvalue()), "scores.xlsx")},
        content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "第 3 行：赵医生不是您负责科室的职工，不能为其评分" in html and "未导入任何数据" in html


def test_the_opinion_check_shows_the_persons_file_in_the_case_panel_and_she_never_sees_it(app, engine, clue_about_nurse):
    """党风廉政意见回复: the office checks 王护士's file on the task page; she cannot open the task."""
    iid = engine.start("integrity_opinion", started_by="jijian", data={
        "person": "nurse", "requested_by": "医院党委", "purpose": "appointment"}).id
    [check] = [t for t in engine.show(iid).tasks if t.element_id == "check"]
    status, html = page(app.test_client(), "jijian", f"/tasks/{check.id}")
    assert status == 200 and 'data-testid="case-person-file"' in html and "反映王护士收受患者家属购物卡" in html
    assert page(app.test_client(), "nurse", f"/tasks/{check.id}")[0] in (403, 404)


def test_the_file_and_the_scores_in_english_show_chinese_only_in_the_data(client, db, people):
    """No untranslated text: a head's 医德考评 page and a file, in English."""
    import re
    from tests.web.test_translations import CJK, _data, _visible
    login(client, "neike_head")
    client.post("/account/locale", data={"locale": "en", "csrf_token": csrf(client, "/inbox")})
    client.post("/records/conduct", data={
        "csrf_token": csrf(client, "/records/conduct"), "department": "neike", "person": "nurse", "year": "2026",
        "quarter": "3", "kind": ["plus"], "points": ["2"], "reason": ["锦旗"]})
    leftovers = {}
    for path in ("/records/people", "/records/people/nurse", "/records/conduct?department=neike&year=2026&quarter=3"):
        text = _visible(client.get(path).get_data(as_text=True))
        for d in [*_data(db), "中文", "锦旗"]:
            text = text.replace(d, " ")
        if CJK.search(text):
            leftovers[path] = re.findall(CJK, text)
    assert not leftovers, leftovers
