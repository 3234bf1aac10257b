"""Decision tables in a real browser: a process owner opens a deployed decision in dmn-js (labels in
Chinese), changes a rule's output and deploys it as the next version; a broken table is refused
with the problem named."""
from __future__ import annotations

import pytest

from engine.bpmn import decisions
from tests.browser.test_inbox import browser, server, shot, sign_in  # noqa: F401  (fixtures)
from tests.engine.bpmn.test_decisions import deploy_decision

pytestmark = pytest.mark.real_forms


def test_owner_edits_a_decision_table_in_chinese_and_deploys_the_next_version(server, browser, engine, people):
    deploy_decision(engine)
    page = browser.new_page(locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "owner")
    page.goto(f"{server}/modeler")
    page.click("[data-testid=decisions]")
    page.click("a:has-text('线索处置审批人')")
    page.wait_for_selector("#dmn[data-ready=true]")
    table = page.inner_text("#dmn")
    assert "命中策略" in table and "被反映人级别" in table and "中层干部" in table
    shot(page, "decisions-01-editor")
    page.evaluate("""() => {
        const viewer = window.qinglianDecisions.getActiveViewer();
        const registry = viewer.get('elementRegistry');
        const cell = registry.get('Out_other');
        viewer.get('modeling').editCell(cell.businessObject, 'True');
    }""")
    page.fill("#note", "其他人员也报分管院领导")
    page.click("[data-testid=deploy-decision]")
    page.wait_for_selector("#dmn[data-deployed='2']")
    assert "第 2 版" in page.inner_text("#status")
    row = decisions.version_xml(engine.db, "disposal_approver", 2)
    assert row is not None and row.deployed_by == "owner" and row.note == "其他人员也报分管院领导"
    assert '<outputEntry id="Out_other">' in row.dmn_xml and ">True<" in row.dmn_xml.split('id="Out_other"')[1][:80]
    assert not errors, errors


def test_a_broken_decision_table_is_refused_with_its_problem_in_chinese(server, browser, engine, people):
    deploy_decision(engine)
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    page.goto(f"{server}/modeler/decisions/disposal_approver")
    page.wait_for_selector("#dmn[data-ready=true]")
    page.evaluate("""() => {
        const viewer = window.qinglianDecisions.getActiveViewer();
        viewer.get('modeling').editCell(viewer.get('elementRegistry').get('Out_middle').businessObject,
                                        "__import__('os')");
    }""")
    page.click("[data-testid=deploy-decision]")
    page.wait_for_selector("#status.error")
    assert "决策表有 1 个问题" in page.inner_text("#status")
    problem = page.inner_text("#problems li")
    assert "Rule_middle" in problem and "规则 1 的输出" in problem and "有错误" in problem
    assert len(decisions.listing(engine)) == 1                       # nothing deployed


def test_a_business_rule_task_picks_its_decision_by_name_in_the_properties_panel(server, browser, engine, people):
    from tests.browser.test_modeler import open_modeler, select
    deploy_decision(engine)
    page = browser.new_page(locale="zh-CN")
    sign_in(page, server, "owner")
    open_modeler(page, f"{server}/modeler/new")
    page.evaluate("""() => {
        const m = window.qinglianModeler;
        const bo = m.get('bpmnFactory').create('bpmn:BusinessRuleTask', {id: 'decide', name: '确定审批层级'});
        const shape = m.get('elementFactory').createShape({type: 'bpmn:BusinessRuleTask', businessObject: bo});
        m.get('modeling').createShape(shape, {x: 420, y: 180}, m.get('canvas').getRootElement());
    }""")
    select(page, "decide")
    picker = page.locator("#props select[data-prop=calledDecisionId]")
    assert "线索处置审批人 (disposal_approver)" in picker.inner_text()
    picker.select_option("disposal_approver")
    xml = page.evaluate("() => window.qinglianModeler.saveXML({format: true}).then(r => r.xml)")
    assert "<spiffworkflow:calledDecisionId>disposal_approver</spiffworkflow:calledDecisionId>" in xml
    page.evaluate("() => window.qinglianModeler.get('selection').select(null)")
    page.evaluate("() => { const m = window.qinglianModeler; "
                  "m.get('selection').select(m.get('elementRegistry').get('decide')); }")   # read back from the model
    page.wait_for_selector("#props[data-element='decide'] select[data-prop=calledDecisionId]")
    assert page.locator("#props select[data-prop=calledDecisionId]").input_value() == "disposal_approver"
