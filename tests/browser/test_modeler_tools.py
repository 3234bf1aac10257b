"""The modeler's view and edit tools in a real browser: a large diagram opens readable, zoom and fit,
undo and redo as buttons and as keys pressed without clicking the canvas, element search, the
minimap, the unsaved-changes marker and warning, and lint findings in Chinese as one draws."""
from __future__ import annotations

import pytest

from tests.browser.test_inbox import browser, server, shot, sign_in  # noqa: F401  (fixtures)
from tests.browser.test_modeler import deployed, open_modeler, select  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


def zoom(page) -> float:
    return page.evaluate("() => window.qinglianModeler.get('canvas').zoom()")


def task_name(page, element_id: str) -> str:
    return page.evaluate(f"() => window.qinglianModeler.get('elementRegistry').get('{element_id}')"
                         ".businessObject.name")


def rename(page, element_id: str, name: str) -> None:
    select(page, element_id)
    page.fill("#props input[data-prop=name]", name)
    page.locator("#props input[data-prop=name]").dispatch_event("change")
    page.wait_for_function(f"() => document.body.dataset.dirty === 'true'")
    assert task_name(page, element_id) == name


def test_a_large_diagram_opens_readable_and_zooms_fits_and_shows_the_minimap(server, browser, deployed):
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/clue")
    opened = zoom(page)
    viewbox = page.evaluate("() => window.qinglianModeler.get('canvas').viewbox()")
    inner, outer = viewbox["inner"], viewbox
    slack = 0.01 * max(inner["width"], inner["height"])                        # the fit's rounding
    assert inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack  # the whole diagram shows
    assert inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
    assert inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    assert page.locator("#canvas").bounding_box()["height"] >= 620          # on a canvas as tall as the window
    page.click("[data-testid=zoom-in]")
    assert zoom(page) > opened
    assert page.inner_text("[data-testid=zoom]") == f"{round(zoom(page) * 100)}%"
    page.click("[data-testid=zoom-out]")
    page.click("[data-testid=zoom-out]")
    assert zoom(page) < opened
    page.click("[data-testid=fit]")
    assert abs(zoom(page) - opened) < 0.01
    was_open = page.locator(".djs-minimap.open").count()
    page.click("[data-testid=minimap]")
    assert page.locator(".djs-minimap.open").count() == 1 - was_open
    shot(page, "modeler-tools-01-zoom")
    assert not errors, errors


def test_undo_redo_buttons_and_keys_work_without_clicking_the_canvas(server, browser, deployed):
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/campaign")
    assert page.locator("[data-testid=undo]").is_disabled()
    before = task_name(page, "set_up_task_force")
    rename(page, "set_up_task_force", "组建工作专班")
    page.click("[data-testid=undo]")
    assert task_name(page, "set_up_task_force") == before
    page.click("[data-testid=redo]")
    assert task_name(page, "set_up_task_force") == "组建工作专班"
    page.click("h1")                                          # the focus is on the page, not the canvas
    page.keyboard.press("Control+z")
    assert task_name(page, "set_up_task_force") == before
    page.keyboard.press("Control+y")
    assert task_name(page, "set_up_task_force") == "组建工作专班"
    page.fill("#note", "abc")
    page.keyboard.press("Control+z")                          # typing in a field keeps its own undo
    assert task_name(page, "set_up_task_force") == "组建工作专班"


def test_search_finds_an_element_by_its_name(server, browser, deployed):
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/campaign")
    page.click("[data-testid=search]")
    page.fill(".djs-search-input input", "成立工作专班")
    page.press(".djs-search-input input", "End")              # the search pad searches on a key's release
    page.wait_for_selector(".djs-search-result")
    page.keyboard.press("Enter")
    page.wait_for_selector("#props[data-element=set_up_task_force]")


def test_unsaved_changes_are_marked_and_leaving_asks_first(server, browser, deployed):
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/campaign")
    assert page.locator("[data-testid=dirty]").is_hidden()
    rename(page, "set_up_task_force", "组建工作专班")
    assert page.locator("[data-testid=dirty]").is_visible()
    assert "未保存" in page.inner_text("[data-testid=dirty]")
    asked: list[str] = []

    def stay(dialog):
        asked.append(dialog.type)
        dialog.dismiss()
    page.on("dialog", stay)
    page.click("nav >> text=流程建模")
    page.wait_for_timeout(300)                                 # the dialog's answer, not a timing assertion
    assert asked == ["beforeunload"]
    assert "/modeler/campaign" in page.url                     # still here, the edit kept
    assert task_name(page, "set_up_task_force") == "组建工作专班"
    shot(page, "modeler-tools-02-dirty")
    page.click("[data-testid=save-draft]")
    page.wait_for_selector("#status.ok")
    assert page.locator("[data-testid=dirty]").is_hidden()
    page.click("nav >> text=流程建模")
    page.wait_for_url(f"{server}/modeler")
    assert asked == ["beforeunload"]                           # saved: left without a question


def test_lint_speaks_chinese_and_counts_problems_as_one_draws(server, browser, deployed):
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/new")
    page.evaluate("""() => {
        const m = window.qinglianModeler;
        const shape = m.get('elementFactory').createShape({type: 'bpmn:Task'});
        m.get('modeling').createShape(shape, {x: 420, y: 180}, m.get('canvas').getRootElement());
    }""")
    page.wait_for_function("() => Number(document.getElementById('lint-count').dataset.errors) > 0")
    count = page.inner_text("[data-testid=lint-count]")
    assert "个问题" in count
    problems = page.inner_text("#problems")
    assert "元素没有连线" in problems and "流程缺少结束事件" in problems
    assert "not connected" not in problems and "missing" not in problems
    shot(page, "modeler-tools-03-lint")


def test_pickers_show_names_and_codes_and_the_panel_header_names_the_element(server, browser, deployed):
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/campaign")
    header = page.inner_text("[data-testid=props-header]")          # nothing selected: the collaboration
    assert header.startswith("专项整治") and "Collaboration_campaign" not in header.split(" ")[0]
    select(page, "set_up_task_force")
    assert page.inner_text("[data-testid=props-header]").startswith("成立工作专班 · 用户任务")
    chosen = page.locator("#props select[data-prop=formKey] option:checked").inner_text()
    assert chosen == "成立工作专班 (campaign_taskforce)"                 # 表单标题 and its key
    page.keyboard.press("Escape")
    page.evaluate("() => window.qinglianModeler.get('selection').select(null)")      # back to the process
    page.wait_for_selector("#props [data-roles-for=startableBy]")
    picker = page.locator("#props [data-roles-for=confidential]")
    assert "纪检监察室" in picker.inner_text() and "(discipline_office)" in picker.inner_text()
    picker.locator("input[data-role=discipline_office]").check()
    assert page.locator("#props input[data-prop=confidential]").input_value() == "discipline_office"
    xml = page.evaluate("() => window.qinglianModeler.saveXML({format: true}).then(r => r.xml)")
    assert 'name="confidential" value="discipline_office"' in xml
    shot(page, "modeler-tools-04-pickers")


def test_the_diff_names_properties_and_types_and_ignores_a_shape_only_clicked(server, browser, engine, deployed):
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/campaign")
    rename(page, "set_up_task_force", "组建工作专班")
    page.evaluate("""() => {
        const m = window.qinglianModeler, r = m.get('elementRegistry'), modeling = m.get('modeling');
        modeling.moveElements([r.get('close_mobilization')], {x: 1, y: 0});      // a click's nudge
        modeling.moveElements([r.get('clue_backlog')], {x: 0, y: 60});          // a real move
    }""")
    page.click("[data-testid=deploy]")
    page.wait_for_selector("[data-testid=versions-link]")
    page.click("[data-testid=versions-link]")
    page.click("[data-testid=compare]")
    page.wait_for_selector("#diff[data-ready=true]")
    changed = page.locator("#diff-changes tr[data-element=set_up_task_force]")
    text = changed.inner_text()
    assert "用户任务" in text and "名称 (name): 成立工作专班 → 组建工作专班" in text and "组建工作专班 (set_up_task_force)" in text
    layout = page.locator("#diff-changes tr[data-kind=layout]")
    moved = {layout.nth(i).get_attribute("data-element") for i in range(layout.count())}
    assert "clue_backlog" in moved and "close_mobilization" not in moved
    shot(page, "modeler-tools-05-diff")


def test_the_form_builder_adds_reorders_and_edits_fields_writing_the_same_json(server, browser, engine, people):
    import json
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    page.goto(f"{server}/modeler/forms/inspection_note")          # a new form: the template's one field
    page.wait_for_selector("#preview[data-ready=true]")
    fields = page.locator("[data-testid=builder-fields] > li")
    assert fields.count() == 1 and fields.first.get_attribute("data-field") == "remark"
    page.fill("[data-testid=builder-new-key]", "found_issues")
    page.select_option("[data-testid=builder-new-kind]", "yesno")
    page.click("[data-testid=builder-add]")
    page.fill("[data-testid=builder-new-key]", "method")
    page.select_option("[data-testid=builder-new-kind]", "select")
    page.click("[data-testid=builder-add]")
    box = page.locator("li[data-field=method]")
    box.locator("input[data-prop=title]").fill("排查方式")
    box.locator("input[data-prop=title]").dispatch_event("change")
    box = page.locator("li[data-field=method]")
    box.locator("textarea[data-prop=options]").fill("self=自查\nspot=抽查")
    box.locator("textarea[data-prop=options]").dispatch_event("change")
    page.locator("li[data-field=method] input[data-prop=required]").check()
    page.locator("li[data-field=method] button[data-move='-1']").click()          # before found_issues
    page.locator("li[data-field=remark] [data-remove=remark]").click()
    definition = json.loads(page.input_value("[data-testid=definition]"))
    assert [e["field"] for e in definition["layout"]] == ["method", "found_issues"]
    assert definition["layout"][0]["widget"] == "select" and definition["layout"][1]["widget"] == "yesno"
    method = definition["schema"]["properties"]["method"]
    assert method["title"] == "排查方式" and method["oneOf"] == [{"const": "self", "title": "自查"},
                                                            {"const": "spot", "title": "抽查"}]
    assert definition["schema"]["required"] == ["method"] and "remark" not in definition["schema"]["properties"]
    page.wait_for_function("() => document.getElementById('preview').textContent.includes('排查方式')")
    assert "抽查" in page.inner_text("#preview")                       # the same preview as the JSON editor
    shot(page, "modeler-tools-06-form-builder")
    with page.expect_navigation():
        page.click("[data-testid=save-form]")
    assert engine.forms.get("inspection_note")["layout"] == definition["layout"]   # saved as written
