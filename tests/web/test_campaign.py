"""The campaign pages over HTTP: launching from the form (errors field by field), the phase ×
department matrix with its chart data and drill-down, and a department head's obligations."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from engine.config import PROJECT_ROOT
from engine.db.schema import process_instance
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

LAUNCH = {"name": "医疗服务行业腐败问题专项整治", "doc_no": "清廉医〔2026〕9号", "departments": ["neike", "waike"],
          "mobilization_deadline": "2026-10-20", "selfcheck_deadline": "2026-10-31",
          "rectification_deadline": "2026-11-30", "consolidation_deadline": "2026-12-31",
          "disclosure_deadline": "2026-10-30", "report_day": 20}


@pytest.fixture
def campaign_id(engine, people, shipped):
    """A campaign over 内科 and 外科, launched on Monday 28 September 2026 (the test clock)."""
    return engine.start("campaign", started_by="jijian", business_key=LAUNCH["doc_no"], data=dict(LAUNCH)).id


def _form(data: dict) -> dict:
    form = {k: v for k, v in data.items() if k != "departments"}
    form["departments"] = data["departments"]
    form["report_day"] = str(data["report_day"])
    return form


def test_the_discipline_office_launches_a_campaign_and_sees_its_matrix(client, engine, people, shipped):
    login(client, "jijian")
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert "参与科室" in page and 'name="departments" value="neike"' in page
    resp = post(client, "/campaigns/new", _form(LAUNCH), page="/campaigns/new")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/campaigns/")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "清廉医〔2026〕9号" in page and "宣传动员" in page
    assert page.count('data-state="progress"') == 4          # 内科 and 外科: mobilization and monthly report
    assert 'id="campaign-chart"' in page
    data = client.get(resp.headers["Location"] + "/timeline.json").get_json()
    assert data["days"] == ["2026-09-28"] and [s["phase"] for s in data["series"]] == ["mobilization"]


def test_a_launch_with_a_past_date_shows_the_error_next_to_the_field_and_starts_nothing(client, engine, people, db, shipped):
    login(client, "jijian")
    resp = post(client, "/campaigns/new", _form(dict(LAUNCH, mobilization_deadline="2026-09-01", departments=[])),
                page="/campaigns/new")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请选择“参与科室”" in page
    resp = post(client, "/campaigns/new", _form(dict(LAUNCH, mobilization_deadline="2026-09-01")), page="/campaigns/new")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "“宣传动员阶段截止”不能早于今天（2026-09-28）" in page
    assert 'value="医疗服务行业腐败问题专项整治"' in page                 # what was typed is kept
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)
                            .where(process_instance.c.process_key == "campaign")).scalar() == 0


def test_a_department_head_sees_the_departments_obligations_and_deadlines(client, campaign_id):
    login(client, "neike_head")
    resp = client.get("/campaigns")
    assert resp.status_code == 302 and resp.headers["Location"] == "/campaigns/mine"
    page = client.get("/campaigns/mine").get_data(as_text=True)
    assert "召开动员部署会" in page and "2026年10月20日 24:00" in page and "填报月度工作进展" in page
    assert "宣传动员 · 截止 2026年10月20日" in page
    assert client.get(f"/campaigns/{campaign_id}/cells/mobilization/neike").status_code == 200
    assert client.get(f"/campaigns/{campaign_id}/cells/mobilization/waike").status_code == 403
    assert client.get(f"/campaigns/{campaign_id}").status_code == 403


def test_drill_down_lists_the_tasks_behind_a_cell(client, engine, campaign_id):
    login(client, "jijian")
    page = client.get(f"/campaigns/{campaign_id}/cells/mobilization/waike").get_data(as_text=True)
    assert "外科" in page and "召开动员部署会" in page and "办理中" in page
    assert client.get(f"/campaigns/{campaign_id}/cells/nothing/waike").status_code == 404
    assert client.get("/campaigns/not-a-campaign").status_code == 404


def test_closing_a_phase_early_is_refused_while_departments_are_working(client, engine, campaign_id, db):
    from engine.db.schema import human_task
    with db.connect() as conn:
        close = conn.execute(sa.select(human_task.c.id).where(human_task.c.element_id == "close_mobilization")).scalar()
    login(client, "jijian")
    resp = post(client, f"/tasks/{close}", {"action": "complete", "note": ""}, page=f"/tasks/{close}")
    assert resp.status_code == 422
    assert "以下科室的宣传动员工作尚未完成：内科、外科" in resp.get_data(as_text=True)


def test_a_staff_member_discloses_through_the_start_page_and_only_the_office_sees_it(client, engine, campaign_id, db):
    login(client, "nurse")
    assert 'data-testid="start-campaign_disclosure"' in client.get("/start").get_data(as_text=True)
    resp = post(client, "/start/campaign_disclosure", {"issues[0].summary": "收受患者红包", "money": "0.2"},
                page="/start/campaign_disclosure")
    assert resp.status_code == 302
    with db.connect() as conn:
        disclosure = conn.execute(sa.select(process_instance.c.id).where(
            process_instance.c.process_key == "campaign_disclosure")).scalar_one()
    view = engine.show(disclosure)
    assert view.data["on_time"] is True and view.data["money"] == "0.20" and view.data["campaign"]["id"] == campaign_id
    for who, status in (("nurse2", 404), ("neike_head", 404), ("auditor", 404), ("jijian", 200), ("nurse", 200)):
        other = client.application.test_client()
        login(other, who)
        assert other.get(f"/instances/{disclosure}/diagram").status_code == status, who
    office = client.application.test_client()
    login(office, "jijian")
    page = office.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "主动说明问题情况汇总" in page and "0.20" in page


def test_the_discloser_picks_the_campaign_from_a_list_not_by_typing_its_number(client, engine, campaign_id):
    """Seed 002's disclosure belongs to one campaign: the start page lists the campaigns taking
    disclosures to choose from; a value that is none of them is refused on the field, input kept."""
    login(client, "nurse")
    page = client.get("/start/campaign_disclosure").get_data(as_text=True)
    assert re.search(r'<select[^>]*name="campaign_ref"', page) and f'value="{campaign_id}"' in page
    bad = post(client, "/start/campaign_disclosure", {"issues[0].summary": "收受患者红包", "campaign_ref": "随便写的"},
               page="/start/campaign_disclosure")
    assert bad.status_code == 422 and "收受患者红包" in bad.get_data(as_text=True)
    ok = post(client, "/start/campaign_disclosure", {"issues[0].summary": "收受患者红包", "campaign_ref": campaign_id},
              page="/start/campaign_disclosure")
    assert ok.status_code == 302


def test_only_the_discipline_office_sees_the_discloser_and_the_day_on_the_disclosure_form(client, campaign_id):
    """说明人 and 说明日期 are the office's, for a paper disclosure it records on someone's behalf: a
    member of staff sees neither; the office sees both."""
    login(client, "nurse")
    page = client.get("/start/campaign_disclosure").get_data(as_text=True)
    assert "说明的问题" in page and "说明人（" not in page and "说明日期（" not in page
    assert 'name="person"' not in page and 'name="disclosed_on"' not in page
    office = client.application.test_client()
    login(office, "jijian")
    page = office.get("/start/campaign_disclosure").get_data(as_text=True)
    assert "说明人（纪检监察室代为登记时选择）" in page and 'name="person"' in page and 'name="disclosed_on"' in page


def test_a_discloser_sent_by_staff_is_refused_on_its_field_with_the_input_kept(client, engine, campaign_id, db):
    login(client, "nurse")
    resp = post(client, "/start/campaign_disclosure",
                {"issues[0].summary": "收受患者红包", "person": "nurse2", "disclosed_on": "2026-10-01"},
                page="/start/campaign_disclosure")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "收受患者红包" in page
    assert page.count("此项仅限指定角色填写，你无权填写") == 2        # one for each field, named in the summary
    assert "说明人（纪检监察室代为登记时选择）：此项仅限" in page
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance).where(
            process_instance.c.process_key == "campaign_disclosure")).scalar() == 0


def test_a_disclosure_without_a_running_campaign_is_refused(client, engine, people, db, shipped):
    login(client, "nurse")
    resp = post(client, "/start/campaign_disclosure", {"issues[0].summary": "收受患者红包"},
                page="/start/campaign_disclosure")
    assert resp.status_code == 422 and "目前没有正在进行的专项整治" in resp.get_data(as_text=True)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar() == 0


def test_the_departments_picker_keeps_known_departments_once_and_names_an_unknown_one():
    from engine.forms import FormCatalog, MemoryLookups, validate_submission
    from werkzeug.datastructures import MultiDict
    definition = FormCatalog(PROJECT_ROOT / "forms").get("campaign_launch")
    lookups = MemoryLookups(people={}, departments={"neike": "内科", "waike": "外科"})
    raw = MultiDict([("departments", "neike"), ("departments", "waike"), ("departments", "neike")])
    sub = validate_submission(definition, raw, lookups=lookups)
    assert sub.values["departments"] == ["neike", "waike", "neike"] and "departments" not in sub.errors
    sub = validate_submission(definition, {"departments": ["neike", "nowhere"]}, lookups=lookups)
    assert sub.errors["departments"] == "“参与科室”：找不到科室“nowhere”"
    sub = validate_submission(definition, MultiDict(), lookups=lookups)
    assert sub.errors["departments"] == "请选择“参与科室”"


def test_the_campaign_page_reads_in_english_and_the_generic_start_page_offers_the_picker(client, campaign_id):
    login(client, "jijian")
    assert 'name="departments" value="waike"' in client.get("/start/campaign").get_data(as_text=True)
    post(client, "/account/locale", {"locale": "en", "next": "/inbox"})
    page = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Phase × department" in page and "Mobilization" in page and "20 Oct 2026" in page


def test_an_action_plan_is_launched_from_the_page_with_its_work_plan(client, engine, people, db, shipped):
    """Seed 001: a plan without phases, launched from the same page with its 工作计划表 — a key task with
    two responsible departments (ticked in its row) becomes tracked work for each of them."""
    login(client, "jijian")
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="profile"' in page and 'name="key_tasks[0].departments"' in page
    form = _form(dict(LAUNCH, profile="action_plan", end_date="2026-12-31", mobilization_deadline="",
                      selfcheck_deadline="", rectification_deadline="", consolidation_deadline="",
                      disclosure_deadline=""))
    form.update({"key_tasks[0].task": "（7）分层分级抓好主体责任落实", "key_tasks[0].departments": ["neike", "waike"],
                 "key_tasks[0].schedule": "2026-11-30", "key_tasks[0].target": "清单化管理",
                 "yearly_goals[0].year": "2026", "yearly_goals[0].goal": "廉洁医院建设体系成熟定型"})
    resp = post(client, "/campaigns/new", form, page="/campaigns/new")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "重点任务" in page and "廉洁医院建设体系成熟定型" in page
    assert "宣传动员" not in page                                     # no phase cards, no phase columns
    assert page.count('data-state="progress"') == 4                  # 内科 and 外科: monthly report and key task
    resp = post(client, "/campaigns/new", dict(form, end_date=""), page="/campaigns/new")
    assert resp.status_code == 422 and "请填写“专项整治结束日期”" in resp.get_data(as_text=True)
