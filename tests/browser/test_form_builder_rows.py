"""The form builder's repeating rows in a real browser: a process owner builds a rows field's columns
(add, reorder, remove, edit), the builder writes the JSON a hand-written form has, the preview shows
the rows as a task page does; a shipped form with rows opens with its columns and comes back unchanged."""
from __future__ import annotations

import json

import pytest

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from tests.engine.forms.test_versions import FORM_TASK
from tests.browser.test_inbox import browser, server, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


def _change(locator, value: str) -> None:
    locator.fill(value)
    locator.dispatch_event("change")


def _definition(page) -> dict:
    return json.loads(page.input_value("[data-testid=definition]"))


def _add_column(rows, key: str, kind: str) -> None:
    rows.locator("[data-testid=column-new-key]").fill(key)
    rows.locator("[data-testid=column-new-kind]").select_option(kind)
    rows.locator("[data-testid=column-add]").click()


def test_a_rows_field_gets_its_columns_added_reordered_edited_and_removed_in_the_builder(server, browser, engine, people):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    sign_in(page, server, "owner")
    page.goto(f"{server}/modeler/forms/risk_table")                   # a new form: the template's one field
    page.wait_for_selector("#preview[data-ready=true]")
    page.fill("[data-testid=builder-new-key]", "risks")
    page.select_option("[data-testid=builder-new-kind]", "rows")
    page.click("[data-testid=builder-add]")
    rows = page.locator("li[data-field=risks]")
    kinds = rows.locator("[data-testid=column-new-kind] option").evaluate_all("os => os.map(o => o.value)")
    assert "text" in kinds and "select" in kinds and "file" not in kinds and "rows" not in kinds
    assert [c.get_attribute("data-column") for c in rows.locator("li[data-column]").all()] == ["item"]

    _add_column(rows, "point", "text")
    _add_column(rows, "level", "select")
    level = rows.locator("li[data-column=level]")
    column_kinds = level.locator("select[data-prop=widget] option").evaluate_all("os => os.map(o => o.value)")
    assert "file" not in column_kinds and "rows" not in column_kinds      # not offered for a column either
    _change(level.locator("input[data-prop=title]"), "等级")
    _change(rows.locator("li[data-column=level] textarea[data-prop=options]"), "一级=一级（高）\n二级=二级（中）")
    _change(rows.locator("li[data-column=point] input[data-prop=title]"), "风险点")
    rows.locator("li[data-column=point] input[data-prop=required]").check()
    rows.locator("li[data-column=level] button[data-move='-1']").click()    # level before point
    rows.locator("li[data-column=item] [data-remove=item]").click()
    _change(rows.locator("> .fb-props input[data-prop=title]"), "风险清单")
    page.locator("li[data-field=remark] [data-remove=remark]").click()
    assert [c.get_attribute("data-column") for c in rows.locator("li[data-column]").all()] == ["level", "point"]

    written = _definition(page)
    risks = written["schema"]["properties"]["risks"]
    assert written["layout"] == [{"field": "risks", "widget": "rows", "columns": [
        {"field": "level", "widget": "select"}, {"field": "point", "widget": "text"}]}]
    assert risks["title"] == "风险清单" and risks["type"] == "array"
    assert risks["items"]["required"] == ["point"]
    assert risks["items"]["properties"]["level"]["oneOf"] == [{"const": "一级", "title": "一级（高）"},
                                                             {"const": "二级", "title": "二级（中）"}]
    assert set(risks["items"]["properties"]) == {"level", "point"}
    page.wait_for_function("() => document.querySelector('#preview [name=\"risks[0].point\"]') !== null")
    assert page.locator("#preview [name='risks[0].level'] option", has_text="二级（中）").count() == 1
    shot(page, "form-builder-01-rows-columns")

    with page.expect_navigation():
        page.click("[data-testid=save-form]")
    assert engine.forms.get("risk_table") == written                       # stored as the builder wrote it
    page.wait_for_selector("#preview[data-ready=true]")
    preview = page.locator("#preview fieldset.row").first                  # rendered as a task page renders it
    assert "风险点" in preview.inner_text() and "等级" in preview.inner_text()
    assert [c.get_attribute("data-column") for c in
            page.locator("li[data-field=risks] li[data-column]").all()] == ["level", "point"]
    shot(page, "form-builder-02-rows-saved")

    bpmn = FORM_TASK.replace(b'value="all_kinds"', b'value="risk_table"').replace(
        b'name="LaneA"', 'name="纪检监察室"'.encode())                       # the discipline office's task
    engine.deploy([SourceFile("risks.bpmn", bpmn)], deployed_by="owner")
    instance = engine.start("selfcheck", started_by="jijian")
    task = next(t for t in engine.show(instance.id).tasks if t.status == "open")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    sign_in(page, server, "jijian")
    page.goto(f"{server}/tasks/{task.id}")                                 # a task using the built form
    page.click("[data-add-row]")
    assert page.locator("fieldset.row").count() == 2
    assert page.locator("[name='risks[1].point']").count() == 1 and page.locator("select[name='risks[1].level']").count() == 1
    assert [e.get_attribute("name") for e in page.locator("fieldset.row").first.locator("[name]").all()] == [
        "risks[0].level", "risks[0].point"]                             # the columns in the builder's order
    shot(page, "form-builder-03-rows-on-a-task")


def test_a_shipped_form_with_rows_opens_with_its_columns_and_round_trips_unchanged(server, browser, engine, people):
    shipped = json.loads((PROJECT_ROOT / "forms" / "campaign_risk_list.json").read_text(encoding="utf-8"))
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    sign_in(page, server, "owner")
    page.goto(f"{server}/modeler/forms/campaign_risk_list")
    page.wait_for_selector("#preview[data-ready=true]")
    risks = page.locator("li[data-field=risks]")
    assert [c.get_attribute("data-column") for c in risks.locator("li[data-column]").all()] == [
        "post", "description", "grade", "measure", "owner"]
    grade = risks.locator("li[data-column=grade]")
    assert grade.locator("input[data-prop=title]").input_value() == "风险等级"
    assert grade.locator("input[data-prop=required]").is_checked()
    assert grade.locator("textarea[data-prop=options]").input_value().splitlines()[0] == "一级=一级（高）"
    assert risks.locator("li[data-column=owner] select[data-prop=widget]").input_value() == "person"
    # every write goes through the builder: a column down and up again, the options changed to themselves
    risks.locator("li[data-column=description] button[data-move='1']").click()
    page.locator("li[data-field=risks] li[data-column=description] button[data-move='-1']").click()
    options = page.locator("li[data-field=risks] li[data-column=grade] textarea[data-prop=options]")
    options.dispatch_event("change")
    assert _definition(page) == shipped                                   # options keep their English titles
    shot(page, "form-builder-04-shipped-rows")
    with page.expect_navigation():
        page.click("[data-testid=save-form]")
    assert engine.forms.get("campaign_risk_list") == shipped
