"""The clue pages as the office and a member of the public use them: registering with the duplicate
hint, the ledger with its filters, overdue marks and feedback rate, the 附件3 Excel export, and the
no-login reporting page with its query code."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from engine.clues.confidential import clue_query_code
from tests.web.test_clue_confidentiality import app  # noqa: F401  (fixture)
from tests.web.test_clue_routes import clues, end_of, office, vault  # noqa: F401  (fixtures)
from tests.helpers.web import csrf, login, post
from tests.helpers.clues import meeting
from engine.errors import Forbidden, Invalid

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def _form(**over):
    data = {"person_name": "刘某", "person_position": "医生", "person_department": "neike",
            "position_level": "other", "party_member": "true", "summary": "反映刘某在门诊收受患者红包。",
            "source": "petition", "channel": "phone", "received_on": "2026-09-28", "real_name": "false"}
    data.update(over)
    return data


def test_the_office_registers_a_clue_and_is_warned_of_a_possible_duplicate_first(app, clues):
    c = app.test_client()
    login(c, "jijian")
    resp = post(c, "/clues/new", _form(), page="/clues/new")
    assert resp.status_code == 302 and "/clues/" in resp.headers["Location"]
    again = post(c, "/clues/new", _form(summary="反映刘某在门诊多次收受患者红包。"), page="/clues/new")
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "可能重复的线索" in page and "被反映人相同" in page
    assert len(clues_count(app)) == 1                                     # nothing saved yet
    confirmed = post(c, "/clues/new", _form(summary="反映刘某在门诊多次收受患者红包。", confirm_duplicates="1"),
                     page="/clues/new")
    assert confirmed.status_code == 302 and len(clues_count(app)) == 2


def clues_count(app):
    from engine.clues import ledger as clues_ledger
    eng = app.extensions["qinglian"]
    with eng.db.connect() as conn:
        return clues_ledger.clue_rows(conn, eng.clock.now())


def test_a_bad_registration_names_the_field_and_saves_nothing(app, clues):
    c = app.test_client()
    login(c, "jijian")
    resp = post(c, "/clues/new", _form(real_name="true", received_on="2026-13-01"), page="/clues/new")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "举报人姓名" in page and "受理时间" in page
    assert clues_count(app) == []


def test_the_ledger_filters_marks_overdue_clues_and_shows_the_feedback_rate(app, clues, clock):
    told = clues.register(person_name="甲", source="audit", real_name=True)
    clues.notify(told.instance_id, "acceptance_notice", "已受理")
    clues.register(person_name="乙", source="petition", person_department="waike", real_name=True)
    clock.set(end_of("2026-10-28") + timedelta(hours=1))
    c = app.test_client()
    login(c, "leader")
    page = c.get("/clues").get_data(as_text=True)
    assert "结果告知率" in page and "受理告知 1/2（50.0%）" in page
    assert page.count("已逾期") >= 2 and "<td>31</td>" in page
    only_audit = c.get("/clues?source=audit").get_data(as_text=True)
    assert "甲" in only_audit and ">乙<" not in only_audit
    only_waike = c.get("/clues?department=waike").get_data(as_text=True)
    assert ">乙<" in only_waike and ">甲<" not in only_waike
    bad = c.get("/clues?received_from=yesterday")
    assert bad.status_code == 422 and "received_from" in bad.get_data(as_text=True)


def test_the_excel_export_has_the_attachment_3_layout(app, clues):
    reg = clues.register(person_name="刘某", person_position="主治医师", real_name=False)
    clues.triage(reg.instance_id, "close", "不属实")
    c = app.test_client()
    login(c, "jijian")
    resp = c.get("/clues/export.xlsx?phone=0575-8267&reviewer=钱主任")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == "问题线索台帐"
    assert rows[1] == ("序号", "姓名", "职务", "线索摘要", "线索来源", "受理时间", "处置方式及结果")
    assert rows[2] == (1, "刘某", "主治医师", "反映刘某收受患者红包。", "信访举报", "2026年9月28日",
                       "予以了结；了结理由：不属实")
    footer = [v for r in rows[3:] for v in r if v]
    assert "填报人：陈纪检" in footer and "联系电话：0575-8267" in footer and "审核人：钱主任" in footer


# --- the public reporting page -------------------------------------------------------------------------

def _public_post(c, clock, **over):
    page = c.get("/report").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    clock.advance(timedelta(seconds=30))
    data = {"csrf_token": csrf(c, "/report"), "form_token": token, "person_name": "刘某",
            "person_department": "内科", "happened": "2026年9月上旬", "place": "内科门诊",
            "facts": "刘某在门诊收受患者家属红包两千元。", "real_name": "true", "reporter_name": "张三",
            "reporter_contact": "13900001111", "website": ""}
    data.update(over)
    return c.post("/report", data=data)


def test_the_public_page_needs_no_login_and_says_what_a_report_must_contain(app, clues):
    page = app.test_client().get("/report")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for word in ("时间", "地点", "科室", "事实", "诬告"):
        assert word in text


def test_a_web_report_returns_a_query_code_that_reads_only_the_feedback(app, clues, clock, db):
    c = app.test_client()
    resp = _public_post(c, clock)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    code = re.search(r'data-testid="query-code">([A-Z0-9-]+)<', resp.get_data(as_text=True)).group(1)
    with db.connect() as conn:
        [stored] = conn.execute(sa.select(clue_query_code)).all()
    assert code not in stored.code_hash and len(stored.code_hash) == 64     # only a hash is kept
    rows = clues_count(app)
    assert rows[0]["channel_name"] == "网上举报" and rows[0]["person_department"] == "neike"
    status = c.post("/report/status", data={"csrf_token": csrf(c, "/report/status"), "code": code})
    assert status.status_code == 200 and "暂无反馈" in status.get_data(as_text=True)
    clues.notify(stored.instance_id, "acceptance_notice", "您的举报已受理，我们将依规处理。")
    status = c.post("/report/status", data={"csrf_token": csrf(c, "/report/status"), "code": code.lower()})
    text = status.get_data(as_text=True)
    assert "您的举报已受理，我们将依规处理。" in text
    assert "刘某" not in text and "张三" not in text and "收受" not in text        # nothing else about the clue
    wrong = c.post("/report/status", data={"csrf_token": csrf(c, "/report/status"), "code": "AAAA-BBBB"})
    assert wrong.status_code == 404


def test_bots_are_refused_a_honeypot_a_too_fast_form_a_forged_token_and_a_missing_csrf_token(app, clues, clock):
    c = app.test_client()
    assert _public_post(c, clock, website="http://spam.example").status_code == 400
    page = c.get("/report").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    fast = c.post("/report", data={"csrf_token": csrf(c, "/report"), "form_token": token, "person_name": "x"})
    assert fast.status_code == 400                                           # sent back within 5 seconds
    assert _public_post(c, clock, form_token="forged").status_code == 400
    assert c.post("/report", data={"person_name": "x"}).status_code == 400   # no CSRF token
    assert clues_count(app) == []


def test_a_public_report_sent_twice_with_the_same_form_token_is_registered_once(app, clues, clock):
    c = app.test_client()
    page = c.get("/report").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    clock.advance(timedelta(seconds=30))
    data = {"csrf_token": csrf(c, "/report"), "form_token": token, "person_name": "刘某", "person_department": "内科",
            "happened": "2026年9月上旬", "place": "内科门诊", "facts": "刘某在门诊收受患者家属红包两千元。",
            "real_name": "false", "website": ""}
    assert c.post("/report", data=data).status_code == 200
    replay = c.post("/report", data=data)
    assert replay.status_code == 400 and "提交未通过校验" in replay.get_data(as_text=True)
    assert len(clues_count(app)) == 1


def test_the_public_page_is_rate_limited_per_client_address(app, clues, clock):
    c = app.test_client()
    for _ in range(5):
        assert _public_post(c, clock).status_code == 200
    assert _public_post(c, clock).status_code == 429
    other = app.test_client()
    assert _public_post(other, clock).status_code == 429  # same address in tests
    clock.advance(timedelta(hours=1))
    assert _public_post(c, clock).status_code == 200


def test_refused_attempts_do_not_count_against_the_public_rate_limit(app, clues, clock):
    c = app.test_client()
    for _ in range(6):
        assert _public_post(c, clock, facts="").status_code == 422              # a fact missing: refused
    assert _public_post(c, clock, website="spam").status_code == 400              # a bot's attempt
    for _ in range(5):
        assert _public_post(c, clock).status_code == 200
    assert _public_post(c, clock).status_code == 429


def test_behind_a_trusted_proxy_each_reporter_has_their_own_rate_limit(app, clues, clock, monkeypatch):
    from engine.config import Settings
    from web import create_app
    monkeypatch.setenv("QINGLIAN_TRUSTED_PROXIES", "127.0.0.1")
    proxied = create_app(Settings.from_env(), engine=app.extensions["qinglian"], testing=True, secret_key="test-secret")
    proxied.extensions["qinglian_reporter_vault"] = app.extensions["qinglian_reporter_vault"]
    first, second = proxied.test_client(), proxied.test_client()
    first.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.1"
    second.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9, 198.51.100.2"     # the left hop is forgeable
    for _ in range(5):
        assert _public_post(first, clock).status_code == 200
    assert _public_post(first, clock).status_code == 429
    assert _public_post(second, clock).status_code == 200                        # another reporter's bucket
    forged = app.test_client()                                                   # no trusted proxy configured:
    forged.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.77"                   # the header is not believed
    for _ in range(5):
        assert _public_post(forged, clock).status_code == 200
    forged.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.78"
    assert _public_post(forged, clock).status_code == 429


def test_a_public_report_with_a_missing_fact_names_the_field(app, clues, clock):
    resp = _public_post(app.test_client(), clock, facts="")
    assert resp.status_code == 422 and "具体事实" in resp.get_data(as_text=True)


def test_a_public_report_naming_a_formula_exports_as_text_in_the_ledger(app, clues, clock):
    formula = '=HYPERLINK("http://x","y")'
    assert _public_post(app.test_client(), clock, person_name=formula).status_code == 200
    c = app.test_client()
    login(c, "jijian")
    resp = c.get("/clues/export.xlsx", query_string={"phone": "+86\x01 0575", "reviewer": "钱\x1b主任"})
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.get_data())).active
    name = ws.cell(3, 2)
    assert name.data_type == "s" and name.value == "'" + formula          # text, never a live formula
    footer = [v for r in ws.iter_rows(min_row=4, values_only=True) for v in r if v]
    assert "联系电话：+86 0575" in footer and "审核人：钱主任" in footer        # control characters removed


@pytest.mark.parametrize("name", ["刘\u202e某", "刘\u200b某", "刘\u2066某\u2069", "\ufeff刘某"])
def test_a_public_report_with_invisible_bidi_or_zero_width_characters_is_refused_with_the_field_named(
        app, clues, clock, name):
    resp = _public_post(app.test_client(), clock, person_name=name, facts="刘某在门诊收受红包。\n共两次。")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "不可见的格式字符" in text
    assert clues_count(app) == []


def test_escalated_handling_is_recorded_as_a_reassignment_and_a_closed_clue_can_be_reviewed(app, clues, engine):
    reg = clues.register(real_name=False)
    c = app.test_client()
    login(c, "jijian")
    path = f"/clues/{reg.instance_id}"
    missing = post(c, f"{path}/handling", {"mode": "escalated", "to": "", "reason": ""}, page=path)
    assert missing.status_code == 422 and "请选择在职的同事" in missing.get_data(as_text=True)
    resp = post(c, f"{path}/handling", {"mode": "escalated", "to": "jj_head", "reason": "涉及科室负责人"}, page=path)
    assert resp.status_code == 302
    assert clues.tasks(reg.instance_id)["triage"].assignee == "jj_head"
    assert "提级办理" in c.get("/clues").get_data(as_text=True)
    [moved] = [e for e in engine.events(reg.instance_id) if e["type"] == "task_reassigned"]
    assert (moved["data"]["mode"], moved["data"]["reason"]) == ("escalated", "涉及科室负责人")   # data, not a prefix
    early = post(c, f"{path}/review", page=path)
    assert early.status_code == 422 and "只有已办结的线索" in early.get_data(as_text=True)
    clues.do(reg.instance_id, "triage", user="jj_head", disposal="close", opinion="不属实", **meeting())
    approve = clues.tasks(reg.instance_id)["approve_office"].id
    with pytest.raises(Forbidden):      # the head proposed it: someone else approves (职责分离)
        clues.do(reg.instance_id, "approve_office", office_approved=True, office_comment=None)
    with pytest.raises(Invalid):        # …but not a clerk outside the approval's lane (the office's head)
        engine.reassign(approve, user="admin", to="jijian", reason="负责人提出处置意见，审批另行安排")

    # a clue the clerk proposed to close and the head approved: closed, so it can be reviewed (回头看)
    reg = clues.register(real_name=False)
    path = f"/clues/{reg.instance_id}"
    clues.do(reg.instance_id, "triage", disposal="close", opinion="不属实", **meeting())
    clues.do(reg.instance_id, "approve_office", office_approved=True, office_comment=None)
    assert post(c, f"{path}/review", page=path).status_code == 302
    with engine.db.connect() as conn:
        from engine.db.schema import process_instance
        review = conn.execute(sa.select(process_instance.c.business_key)
                              .where(process_instance.c.process_key == "clue_review")).scalar_one()
    assert review == f"{reg.business_key} 回头看"
