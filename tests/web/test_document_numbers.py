"""Voiding a document number (文号) on the discipline office's page and through the API: the number
stays in the register as voided with who, when and why, per sequence and year; the void is on the
administration log's chain and on the chain of the instance the number was given to; refusals are
said next to the field with the reason kept; nobody but the office may."""
from __future__ import annotations

import re

import pytest

from engine.audit import verify
from engine.org import accounts, admin_log
from engine.db.transactions import read_transaction, write_transaction
from tests.helpers.web import csrf, login, post
from tests.web.test_documents import clue  # noqa: F401  (fixture)

pytestmark = pytest.mark.real_forms
CJK = re.compile(r"[\u4e00-\u9fff]")


def _two_notices(app, clue):
    """The acceptance notice generated twice: 告 numbers 1 and 2 of 2026."""
    _instance_id, task_id = clue
    office = app.test_client()
    login(office, "jijian")
    for _ in range(2):
        assert post(office, f"/tasks/{task_id}/documents", {"kind": "受理告知书"}, page=f"/tasks/{task_id}").status_code == 302
    return office


def test_the_office_voids_a_number_with_a_reason_and_it_stays_listed_as_voided(app, clue, engine):
    instance_id, _task = clue
    office = _two_notices(app, clue)
    page = office.get("/documents/numbers?kind=告&year=2026")
    assert page.status_code == 200
    assert "X纪告〔2026〕1号" in page.text and "X纪告〔2026〕2号" in page.text and "受理告知书" in page.text
    assert 'href="/documents/numbers"' in office.get("/clues").text          # reached from the clue pages

    done = post(office, "/documents/numbers/void", {"kind": "告", "year": "2026", "number": "1", "list_kind": "告",
                                                    "reason": "送达地址有误，重新制发"}, page="/documents/numbers")
    assert done.status_code == 302
    page = office.get(done.location).text
    row = re.search(r'<tr data-number="X纪告〔2026〕1号" data-status="(\w+)">(.*?)</tr>', page, re.S)
    assert row.group(1) == "voided" and "送达地址有误，重新制发" in row.group(2) and "jijian" in row.group(2)
    assert 'data-number="X纪告〔2026〕2号" data-status="issued"' in page
    assert "已作废，仍留在登记中" in page

    # in the chains: the administration log's and the instance's, both still verifying
    with read_transaction(engine.db) as conn:
        log = [e for e in admin_log._entries(conn) if e["type"] == "document_number_voided"]
    assert [(e["actor"], e["data"]["number"]) for e in log] == [("jijian", "X纪告〔2026〕1号")]
    voided = [e for e in engine.events(instance_id) if e["type"] == "document_number_voided"]
    assert [(e["actor"], e["data"]["number"], e["data"]["reason"]) for e in voided] == [
        ("jijian", "X纪告〔2026〕1号", "送达地址有误，重新制发")]
    assert verify.verify_report(engine.db).ok

    # a voided number is never given again: the next notice is number 3
    _instance, task_id = clue
    post(office, f"/tasks/{task_id}/documents", {"kind": "受理告知书"}, page=f"/tasks/{task_id}")
    assert "X纪告〔2026〕3号" in office.get("/documents/numbers?kind=告&year=2026").text


def test_a_refused_void_is_said_next_to_the_field_with_the_reason_kept(app, clue):
    office = _two_notices(app, clue)
    resp = post(office, "/documents/numbers/void", {"kind": "告", "year": "2026", "number": "2", "reason": "  "},
                page="/documents/numbers")
    assert resp.status_code == 422
    row = re.search(r'<tr data-number="X纪告〔2026〕2号" data-status="issued">(.*?)</tr>', resp.text, re.S).group(1)
    assert 'data-field="reason"' in row and "请填写作废理由" in row
    post(office, "/documents/numbers/void", {"kind": "告", "year": "2026", "number": "2", "reason": "重复制发"},
         page="/documents/numbers")
    again = post(office, "/documents/numbers/void", {"kind": "告", "year": "2026", "number": "2", "reason": "再次作废"},
                 page="/documents/numbers")
    assert again.status_code == 409 and "这个文号已作废" in again.text
    never = post(office, "/documents/numbers/void", {"kind": "告", "year": "2026", "number": "99", "reason": "笔误"},
                 page="/documents/numbers")
    assert never.status_code == 404 and "没有给出过这个文号" in never.text
    bad = post(office, "/documents/numbers/void", {"kind": "告", "year": "二〇二六", "number": "x", "reason": "笔误"},
               page="/documents/numbers")
    assert bad.status_code == 422 and "年度应为 2000 至 2100 之间的四位数字" in bad.text and "文号序号应为正整数" in bad.text
    assert office.get("/documents/numbers?year=abc").status_code == 422


def test_the_register_in_english(app, clue):
    office = _two_notices(app, clue)
    office.post("/account/locale", data={"locale": "en", "csrf_token": csrf(office, "/inbox")})
    resp = post(office, "/documents/numbers/void", {"kind": "告", "year": "2026", "number": "1", "reason": ""},
                page="/documents/numbers")
    assert "Please give the reason for voiding" in resp.text and "Document numbers" in resp.text


def test_only_the_office_sees_the_register_or_voids(app, clue):
    _two_notices(app, clue)
    for user in ("auditor", "admin", "neike_head", "nurse"):
        c = app.test_client()
        login(c, user)
        assert c.get("/documents/numbers").status_code == 403
        token = csrf(c, "/inbox")
        assert c.post("/documents/numbers/void", data={"kind": "告", "year": "2026", "number": "1", "reason": "x",
                                                       "csrf_token": token}).status_code == 403


def test_the_api_lists_and_voids_numbers_for_the_office_only(app, clue, engine, client):
    _two_notices(app, clue)
    with write_transaction(engine.db) as conn:
        tokens = {u: accounts.issue_token(conn, u, engine.clock.now())[0] for u in ("jijian", "auditor")}

    def api(method, path, user, **kw):
        return client.open("/api/v1" + path, method=method, headers={"Authorization": f"Bearer {tokens[user]}"}, **kw)

    listed = api("GET", "/document-numbers?kind=告&year=2026", "jijian")
    assert listed.status_code == 200
    assert [(n["text"], n["status"]) for n in listed.get_json()["items"]] == [
        ("X纪告〔2026〕1号", "issued"), ("X纪告〔2026〕2号", "issued")]
    assert api("GET", "/document-numbers?kind=甲", "jijian").status_code == 422
    assert api("GET", "/document-numbers?year=1800", "jijian").status_code == 422
    assert api("GET", "/document-numbers", "auditor").status_code == 403
    assert api("POST", "/document-numbers/告/2026/1/void", "auditor", json={"reason": "x"}).status_code == 403
    assert api("POST", "/document-numbers/告/2026/1/void", "jijian", json={}).status_code == 422
    voided = api("POST", "/document-numbers/告/2026/1/void", "jijian", json={"reason": "送达地址有误"})
    assert voided.status_code == 200
    assert (voided.get_json()["status"], voided.get_json()["void_reason"], voided.get_json()["voided_by"]) == (
        "voided", "送达地址有误", "jijian")
    again = api("POST", "/document-numbers/告/2026/1/void", "jijian", json={"reason": "再次"})
    assert again.status_code == 409 and CJK.search(again.get_json()["message"])
    assert api("POST", "/document-numbers/告/2026/9/void", "jijian", json={"reason": "x"}).status_code == 404
    assert [n["status"] for n in api("GET", "/document-numbers?kind=告&year=2026", "jijian").get_json()["items"]] == [
        "voided", "issued"]
