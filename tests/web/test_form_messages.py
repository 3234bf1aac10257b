"""The form editor refuses a broken form definition with the engine's own checks, said in the reader's
language and located (file, line, field, a rows field's column), keeping what was typed."""
from __future__ import annotations

import copy
import json
import re

import pytest

from engine.forms import check_definition
from tests.helpers.web import csrf, login
from web import form_messages

CJK = re.compile(r"[\u4e00-\u9fff]")
ROWS = {"title": "风险清单", "schema": {"type": "object", "properties": {"risks": {
    "type": "array", "title": "风险", "items": {"type": "object", "required": ["point"], "properties": {
        "point": {"type": "string", "title": "风险点"},
        "evidence": {"type": "array", "title": "佐证", "items": {"type": "string"}}}}}}},
    "layout": [{"field": "risks", "widget": "rows", "columns": [
        {"field": "point", "widget": "text"}, {"field": "evidence", "widget": "file"}]}]}


def _save(client, key: str, text: str):
    return client.post(f"/modeler/forms/{key}", data={"csrf_token": csrf(client, f"/modeler/forms/{key}"),
                                                     "definition": text})


def test_a_file_column_inside_rows_is_refused_on_save_in_chinese_naming_the_column(client, engine, people):
    login(client, "owner")
    text = json.dumps(ROWS, ensure_ascii=False)
    resp = _save(client, "risk_table", text)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "risk_table.json 多行表格 risks 的列 evidence：多行表格的列不能是「file」类型" in page
    assert "evidence" in page and "佐证" in page                          # what was typed is kept
    assert not engine.forms.exists("risk_table")
    preview = client.post("/modeler/forms/preview", json={"key": "risk_table", "definition": text},
                          headers={"X-CSRFToken": csrf(client, "/modeler/forms/risk_table")}).get_json()
    assert not preview["ok"] and "多行表格 risks 的列 evidence" in preview["problems"][0]


def test_a_syntax_error_is_located_by_line_and_column(client, people):
    login(client, "owner")
    page = _save(client, "risk_table", '{\n  "title": "x",\n  oops\n}').get_data(as_text=True)
    assert "risk_table.json 第 3 行：不是有效的 JSON：" in page and "（第 3 列）" in page


def _broken() -> list[dict]:
    """Definitions each broken in one way the form builder or a hand could produce."""
    found = []
    def broken(change):
        d = copy.deepcopy(ROWS)
        d["layout"][0]["columns"][1]["widget"] = "date"
        d["schema"]["properties"]["risks"]["items"]["properties"]["evidence"] = {"type": "string", "title": "日期"}
        change(d)
        found.append(d)
    rows, entry = lambda d: d["schema"]["properties"]["risks"], lambda d: d["layout"][0]
    broken(lambda d: entry(d).pop("columns"))
    broken(lambda d: rows(d).pop("items"))
    broken(lambda d: entry(d)["columns"].append({"field": "nested", "widget": "rows"})
           or rows(d)["items"]["properties"].update(nested={"type": "array", "title": "套", "items": {}}))
    broken(lambda d: entry(d)["columns"].pop())
    broken(lambda d: rows(d)["items"]["required"].append("missing"))
    broken(lambda d: entry(d)["columns"].append(dict(entry(d)["columns"][0])))
    broken(lambda d: entry(d)["columns"][0].update(widget="dial"))
    broken(lambda d: rows(d)["items"]["properties"]["point"].update(title="", type="integer"))
    broken(lambda d: entry(d)["columns"][0].update(hepl="x"))
    broken(lambda d: rows(d)["items"]["properties"]["point"].update(pattern="(", oneOf=[]))
    broken(lambda d: entry(d)["columns"][0].update(widget="select")
           or rows(d)["items"]["properties"]["point"].update(oneOf=[{"const": "a", "title": "甲"}, {"const": "a", "title": ""}]))
    broken(lambda d: d.pop("title") and d.update(extra=1))
    return found


def test_every_finding_about_rows_and_columns_is_said_in_chinese_by_a_known_sentence(app):
    findings = [p for d in _broken() for p in check_definition("f", d)]
    assert len(findings) >= 12
    with app.test_request_context("/", headers={"Accept-Language": "zh"}):
        for p in findings:
            said = form_messages.say(p)
            assert CJK.search(said) and "表单定义有问题" not in said, (str(p), said)
            assert said.startswith("f.json"), said


def test_english_readers_get_english(app):
    [p] = check_definition("risk_table", ROWS)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert form_messages.say(p) == ("risk_table.json column evidence of the rows risks: a column of repeating "
                                        "rows cannot be a “file” field: files and rows cannot go inside a row")
