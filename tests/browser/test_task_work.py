"""Task work in real Chromium, at a desktop's 1366×900 and in a phone's emulation (390×844, touch):
true records (item 1), refusals on the same page (3), the case panel (5), the notification bell (6),
hand-overs limited to the lane and searchable by pinyin initials, delegation that comes back (10, 11),
and the phone inbox: a card list, a collapsed navigation and a primary action at hand (12).

Screenshots go to the pytest temporary directory's `artifacts/` folder.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.browser.test_inbox import browser, server  # noqa: F401  (fixtures)
from tests.browser.test_inbox import sign_in as inbox_sign_in
from tests.conftest import PASSWORD
from tests.helpers.clues import meeting
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)
from tests.web.test_task_records import LAUNCH

pytestmark = pytest.mark.real_forms

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
}


@pytest.fixture(params=list(VIEWPORTS))
def size(request):
    return request.param


@pytest.fixture
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def open_page(browser, size, artifacts):
    """`open_page()`: a new page at the test's size, failing the test on a script error; `.shot(name)`."""
    pages = []

    def make():
        page = browser.new_page(locale="zh-CN", **VIEWPORTS[size])
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        # (a refusal answers 422, which Chromium notes on the console: that is the page working)
        page.on("console", lambda msg: page.errors.append(msg.text)
                if msg.type == "error" and "status of 422" not in msg.text else None)
        page.shot = lambda name: page.screenshot(path=str(artifacts / f"{name}-{size}.png"), full_page=True)
        pages.append(page)
        return page
    yield make
    for page in pages:
        assert not page.errors, page.errors


def sign_in(page, base: str, username: str) -> None:
    """The browser signs in as test_inbox's helper does (with the second factor for privileged roles)."""
    inbox_sign_in(page, base, username)


def _visible_in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_a_fresh_talk_opens_empty_and_a_completed_one_shows_its_record(server, open_page, engine, people, shipped):
    engine.start("campaign", started_by="jijian", business_key=LAUNCH["doc_no"], data=dict(LAUNCH))
    page = open_page()
    sign_in(page, server, "neike_head")
    page.goto(f"{server}/inbox?view=claimable")
    page.click("text=召开动员部署会")
    page.fill("[name=meeting_date]", "2026-09-28")
    page.fill("[name=attendance]", "3")
    page.fill("[name=summary]", "动员会要点：九项准则")
    page.click("button[value=complete]")
    page.wait_for_url(f"{server}/inbox")
    page.goto(f"{server}/inbox?view=claimable")
    page.locator("a:has-text('一对一谈心谈话')").first.click()
    assert page.input_value("[name=summary]") == "" and page.input_value("[name=talk_date]") == ""
    page.shot("item1-fresh-talk")
    page.fill("[name=talk_date]", "2026-09-29")
    page.fill("[name=summary]", "谈话要点：不收红包")
    url = page.url
    page.click("button[value=complete]")
    page.wait_for_url(f"{server}/inbox")
    page.goto(url)
    assert "谈话要点：不收红包" in page.content() and "九项准则" not in page.content()
    page.shot("item1-completed-talk")


def test_refusals_stay_on_the_page_and_the_approver_sees_the_case(server, open_page, clues, engine):
    reg = clues.register(real_name=False, party_member=False, public_employee=False, summary="反映刘某收受患者红包两千元。")
    clues.do(reg.instance_id, "triage", disposal="verify", opinion="建议初步核实", **meeting())
    page = open_page()
    sign_in(page, server, "jj_head")
    page.goto(f"{server}/tasks/{clues.tasks(reg.instance_id)['approve_office'].id}")
    panel = page.locator("[data-testid=case-panel]")
    assert panel.is_visible() and "反映刘某收受患者红包两千元。" in panel.inner_text()
    assert "建议初步核实" in panel.inner_text()
    page.shot("item5-case-panel")

    clues.do(reg.instance_id, "approve_office", office_approved=True, office_comment=None)
    clues.do(reg.instance_id, "verify_plan", verify_plan="p", verify_team="t")
    clues.do(reg.instance_id, "approve_plan", plan_approved=True, plan_comment=None)
    clues.do(reg.instance_id, "gather_evidence", evidence=[{"item": "i", "finding": "f", "done_on": None}],
             evidence_files=[])
    clues.do(reg.instance_id, "verify_report", verify_conclusion="partly", verify_report="r", report_files=[])
    page.goto(f"{server}/tasks/{clues.tasks(reg.instance_id)['outcome'].id}")
    page.select_option("[name=discipline_form]", "first")
    page.fill("[name=measure]", "诫勉谈话")
    page.fill("[name=admin_penalty]", "罚款五千元")
    page.check("[name=publicized][value=false]")
    page.click("button[value=complete]")
    # seed 002 附件4: the four forms are not for staff who are neither party members nor public employees
    assert "四种形态只适用于党员和公职人员" in page.content() and "输入有误" not in page.content()
    assert page.input_value("[name=admin_penalty]") == "罚款五千元"
    page.shot("item3-guard-refusal")

    page.set_input_files("input[name=file]", files=[{"name": "tool.exe", "mimeType": "application/octet-stream",
                                                      "buffer": b"MZ"}])
    page.click("#files button[type=submit]")
    assert page.locator("#file-error").is_visible() and "不支持的文件类型" in page.inner_text("#file-error")
    page.shot("item3-attachment-refusal")


def test_a_hand_over_finds_the_lane_by_pinyin_and_a_delegation_comes_back(server, open_page, clues, engine):
    reg = clues.register(real_name=False)
    triage = clues.tasks(reg.instance_id)["triage"].id
    engine.claim(triage, user="jijian")
    page = open_page()
    sign_in(page, server, "jijian")
    page.goto(f"{server}/tasks/{triage}")
    if page.locator("details.more-actions").get_attribute("open") is None:   # a phone: folded behind 更多操作
        page.click("details.more-actions > summary")
    page.click("details[data-kind=delegate] summary")
    options = page.locator("#delegate-to option").all_inner_texts()
    assert any("钱主任" in o for o in options) and not any("赵医生" in o for o in options)
    page.fill("#delegate-search", "qzr")
    assert page.input_value("#delegate-to") == "jj_head"
    page.fill("#delegate-reason", "请主任先研判")
    page.shot("item10-handover-search")
    page.click("details[data-kind=delegate] button[type=submit]")
    page.wait_for_url(f"{server}/inbox")
    assert "办完后任务会交回给你" in page.content()

    head = open_page()
    sign_in(head, server, "jj_head")
    head.goto(f"{server}/tasks/{triage}")
    head.select_option("[name=disposal]", "verify")
    head.fill("[name=opinion]", "建议初步核实")
    if size == "phone":
        assert _visible_in_viewport(head, "button[value=resolve]")    # the primary action at hand
    head.shot("item11-delegate-resolves")
    head.click("button[value=resolve]")
    head.wait_for_url(f"{server}/inbox")

    page.goto(f"{server}/tasks/{triage}")
    assert page.input_value("[name=opinion]") == "建议初步核实"
    fill_meeting(page, ("jijian", "jj_head", "leader"))      # 集体研判: the owner records the meeting
    page.click("button[value=complete]")
    page.wait_for_url(f"{server}/inbox")
    assert engine.task(triage).completed_by == "jijian"


def test_the_bell_counts_a_reminder_and_leads_to_the_task(server, open_page, engine, people, clock, shipped):
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                        data={"department": "neike", "department_name": "内科"})
    task = view.tasks[0]
    clock.set(task.due_at - timedelta(hours=1))
    engine.sweep_deadlines()
    page = open_page()
    sign_in(page, server, "neike_head")
    assert page.inner_text("[data-testid=bell-count]") == "1"
    page.shot("item6-bell")
    page.click("[data-testid=bell]")
    page.locator("[data-testid=notification] button").first.click()
    page.wait_for_url(f"{server}/tasks/{task.id}")
    assert page.locator("[data-testid=bell-count]").count() == 0


def test_the_inbox_works_one_handed_on_a_phone(server, open_page, engine, people, size, shipped):
    engine.start("campaign", started_by="jijian", business_key=LAUNCH["doc_no"], data=dict(LAUNCH))
    page = open_page()
    sign_in(page, server, "neike_head")
    page.goto(f"{server}/inbox?view=claimable")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    first = "table.tasks tbody tr:first-child td a"
    assert _visible_in_viewport(page, first)                        # the first task above the fold
    if size == "phone":
        assert not page.locator("nav.mainnav").is_visible()           # the navigation is collapsed
        assert page.locator("label.nav-toggle-label").is_visible()
        cell = page.locator("table.tasks tbody tr:first-child td:first-child").bounding_box()
        assert cell["width"] > 250                                    # a card, not one character a line
    page.shot("item12-inbox")
    if size == "phone":
        page.click("label.nav-toggle-label")
        assert page.locator("nav.mainnav").is_visible()
        page.shot("item12-menu-open")
    page.goto(f"{server}/inbox?view=claimable")
    page.click(first)
    if size == "phone":
        assert _visible_in_viewport(page, "button[value=complete]")   # sticky at the bottom on a phone
    page.shot("item12-task-page")


def test_the_task_diagram_zooms_fits_and_opens_full_screen(server, open_page, engine, people, shipped):
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                        data={"department": "neike", "department_name": "内科"})
    page = open_page()
    sign_in(page, server, "neike_head")
    page.goto(f"{server}/tasks/{view.tasks[0].id}")
    page.wait_for_selector("#diagram[data-ready=true]")
    assert page.inner_text("[data-testid=process-name]") == "月度工作进展报告"      # its name, not `monthly_report v1`
    fitted = float(page.get_attribute("#diagram", "data-zoom"))
    page.click("[data-diagram-tool=in]")
    assert float(page.get_attribute("#diagram", "data-zoom")) > fitted
    page.click("[data-diagram-tool=full]")
    assert "diagram-full" in page.get_attribute(".diagram-box", "class")
    box = page.locator("#diagram").bounding_box()
    assert box["width"] >= page.viewport_size["width"] * 0.9
    page.shot("also-diagram-full-screen")
    page.keyboard.press("Escape")
    assert "diagram-full" not in page.get_attribute(".diagram-box", "class")


def fill_meeting(page, people) -> None:
    """The triage form's collective decision: its day and one row per participant, each agreeing."""
    page.fill("[name=meeting_date]", "2026-09-28")
    group = page.locator("[data-rows]").filter(has=page.locator("[name^='participants[']")).first
    for i, who in enumerate(people):
        if i:
            group.locator("[data-add-row]").first.click()
        page.select_option(f"[name='participants[{i}].person']", who)
        page.fill(f"[name='participants[{i}].opinion']", "同意")
