"""The modeler's findings in the reader's language: the deploy checks and the migration rule speak
English to the command line, Chinese (or English) to a person on the modeler's pages."""
from __future__ import annotations

import re

import pytest

from engine.config import PROJECT_ROOT
from tests.helpers.web import csrf, login
from web import modeler_messages as messages

pytestmark = pytest.mark.real_forms
CJK = re.compile(r"[\u4e00-\u9fff]")


def _broken_monthly_report() -> str:
    xml = (PROJECT_ROOT / "processes" / "monthly_report.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('value="monthly_report_review"', 'value="no_such_form"')
    xml = xml.replace('value="department_head"', 'value="no_such_role"')
    return xml.replace("accepted == True", "accepted ==")


def test_a_broken_diagram_is_explained_in_chinese_keeping_the_names_it_quotes(client, people):
    login(client, "owner")
    token = csrf(client, "/modeler/new")
    resp = client.post("/modeler/validate", json={"xml": _broken_monthly_report(), "file_name": "m.bpmn"},
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 422
    body = resp.get_json()
    said = {p["code"]: p["message"] for p in body["problems"]}
    assert "流程图有 " in body["message"] and "个问题" in body["message"]
    assert "使用的表单「no_such_form」不存在" in said["unknown_form"]
    assert "用户任务「" in said["unknown_form"]
    assert "角色「no_such_role」不存在" in said["unknown_lane_role"]
    assert "条件有错误" in said["condition_error"] or "条件" in said["condition_error"]
    for p in body["problems"]:
        assert CJK.search(p["message"]), p
        assert not p["message"].startswith(("User task", "Lane", "Sequence flow")), p
        assert p["detail"]                                  # the engine's own words stay available


def test_english_readers_get_the_english_text(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        said = messages.say("unknown_form", 'User task "Review" (review) uses form "x", which does not exist.')
        assert said == 'User task “Review” (review) uses form “x”, which does not exist.'
        assert messages.obstacle("removed in the new version, but it is waiting at it") == \
            "removed in the new version, but the instance is waiting at it"


def test_migration_refusals_are_said_in_chinese(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        assert messages.obstacle("its incoming flows changed in the new version, and it has completed it") == \
            "新版本中它的流入连线改变了，而实例已完成该步骤"
        assert messages.obstacle("removed in the new version, but it is waiting at it") == \
            "新版本删除了该元素，但实例正停在该步骤"


def test_an_unknown_finding_still_gets_a_sentence_in_chinese(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        said = messages.say("parse_error", 'User task "审核" (review): something new went wrong.')
        assert said.startswith("用户任务「审核」（review）：流程图无法解析")
        assert "something new went wrong" in said


def test_an_unknown_document_is_refused_at_deploy_in_the_readers_language(client, people):
    xml = (PROJECT_ROOT / "processes" / "monthly_report.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('name="document" value="月度工作进展报告"', 'name="document" value="工作总结"')
    login(client, "owner")
    token = csrf(client, "/modeler/new")
    resp = client.post("/modeler/validate", json={"xml": xml, "file_name": "m.bpmn"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 422
    said = {p["code"]: p for p in resp.get_json()["problems"]}
    assert "用户任务「填报月度工作进展」" in said["unknown_document"]["message"]
    assert "公文「工作总结」不是系统提供的" in said["unknown_document"]["message"]
    client.post("/account/locale", data={"locale": "en", "csrf_token": token})
    resp = client.post("/modeler/validate", json={"xml": xml, "file_name": "m.bpmn"}, headers={"X-CSRFToken": token})
    english = {p["code"]: p["message"] for p in resp.get_json()["problems"]}["unknown_document"]
    assert "document “工作总结” is not one the engine provides" in english
