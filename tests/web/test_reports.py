"""The report pages over HTTP: who may read which report, the cut-off and signature (remembered per
campaign), clear errors for a bad cut-off, the Excel exports, and the dashboard's data with its links."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.engine.campaign.reports_scenario import ITEM_A, scenario  # noqa: F401  (fixture)
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


@pytest.fixture
def vault(app):
    return app.extensions["qinglian_reporter_vault"]


def signed_in(app, user):
    c = app.test_client()
    login(c, user)
    return c


def test_the_office_reads_each_report_at_a_cut_off_and_its_signature_is_remembered(app, scenario):
    c = signed_in(app, "jijian")
    base = f"/reports/{scenario.campaign}"
    resp = c.get(f"{base}/outcomes?cutoff=2026-10-31&filled_by=陈纪检&phone=82676537&reviewer=冯书记")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "廉洁医院建设专项整治情况汇总表" in page and ITEM_A in page and "2026年10月31日" in page
    assert "审核人：冯书记" in page and "联系电话：82676537" in page
    page = c.get(f"{base}/disclosures").get_data(as_text=True)        # remembered for this campaign
    assert "联系电话：82676537" in page and "填报人：陈纪检" in page and "2026年12月10日" in page
    assert "1.70" in page and "检验科" in page
    ledger = c.get(f"{base}/ledger?cutoff=2026-10-31").get_data(as_text=True)
    assert "钱主任" in ledger and "王护士" not in ledger            # K6 came in after the cut-off
    assert "实名举报人" not in ledger and "13900001111" not in ledger  # never the reporter
    monthly = c.get(f"{base}/monthly?cutoff=2026-10-31").get_data(as_text=True)
    assert "2026年10月" in monthly and "一对一谈心谈话：赵医生" in monthly


def test_a_bad_cut_off_is_named_and_nothing_is_exported(app, scenario):
    c = signed_in(app, "jijian")
    base = f"/reports/{scenario.campaign}"
    resp = c.get(f"{base}/outcomes?cutoff=2026-13-40")
    assert resp.status_code == 422 and "截至日期格式应为 2026-10-31" in resp.get_data(as_text=True)
    resp = c.get(f"{base}/outcomes?cutoff=2026-09-01")
    assert resp.status_code == 422 and "截至日期不能早于专项整治开始（2026-09-28）" in resp.get_data(as_text=True)
    resp = c.get(f"{base}/outcomes.xlsx?cutoff=2026-09-01", headers={"Accept": "application/json"})
    assert resp.status_code == 422 and "cutoff" in resp.get_json()["fields"]
    resp = c.get(f"{base}/outcomes?phone=" + "1" * 41)
    assert resp.status_code == 422 and "最多 40 个字" in resp.get_data(as_text=True)
    assert c.get(f"{base}/nonsense").status_code == 404
    assert c.get("/reports/no-such-campaign/outcomes").status_code == 404


def test_the_exports_are_the_seeds_tables(app, scenario):
    c = signed_in(app, "jijian")
    base = f"/reports/{scenario.campaign}"
    resp = c.get(f"{base}/ledger.xlsx?cutoff=2026-10-31&filled_by=陈纪检&phone=82676537&reviewer=冯书记")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].endswith("ledger-20261031.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "廉洁医院建设专项整治问题线索台帐"
    assert [c.value for c in ws[2]] == ["序号", "姓名", "职务", "线索摘要", "线索来源", "受理时间", "处置方式及结果"]
    assert [ws.cell(r, 2).value for r in range(3, 9)][:2] == ["钱主任", "张主任"] and ws.cell(9, 1).value is None
    assert ws["A10"].value == "填报人：陈纪检"
    for kind in ("disclosures", "outcomes", "monthly"):
        resp = c.get(f"{base}/{kind}.xlsx?cutoff=2026-10-31")
        assert resp.status_code == 200, kind
        ws = load_workbook(io.BytesIO(resp.data)).active
        assert "A1:" in " ".join(str(r) for r in ws.merged_cells.ranges)
    ws = load_workbook(io.BytesIO(c.get(f"{base}/disclosures.xlsx?cutoff=2026-10-31").data)).active
    assert [c.value for c in ws[6]] == ["合计", None, 3, 4, 1.7, 3]


def test_a_signature_that_looks_like_a_formula_or_holds_a_control_character_exports_as_text(app, scenario):
    c = signed_in(app, "jijian")
    base = f"/reports/{scenario.campaign}"
    for kind in ("ledger", "disclosures", "outcomes", "monthly"):
        resp = c.get(f"{base}/{kind}.xlsx", query_string={"cutoff": "2026-10-31", "filled_by": "@SUM(A1)",
                                                          "phone": "8267\x07", "reviewer": "冯\x1b书记"})
        assert resp.status_code == 200, kind
        ws = load_workbook(io.BytesIO(resp.data)).active
        values = [v for r in ws.iter_rows(values_only=True) for v in r if isinstance(v, str)]
        assert "填报人：@SUM(A1)" in values and "联系电话：8267" in values and "审核人：冯书记" in values, kind
        assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for v in values), kind


def test_a_department_head_sees_the_monthly_report_of_their_department_only(app, scenario):
    c = signed_in(app, "neike_head")
    base = f"/reports/{scenario.campaign}"
    page = c.get(f"{base}/monthly?cutoff=2026-10-31").get_data(as_text=True)
    assert 'data-department="neike"' in page and 'data-department="waike"' not in page
    ws = load_workbook(io.BytesIO(c.get(f"{base}/monthly.xlsx?cutoff=2026-10-31").data)).active
    assert ws["B4"].value == "内科" and ws["A5"].value == "合计"
    for kind in ("disclosures", "ledger", "outcomes", "dashboard"):
        assert c.get(f"{base}/{kind}").status_code == 403, kind
    assert c.get(f"{base}/overdue?department=neike").status_code == 200
    assert c.get(f"{base}/overdue?department=waike").status_code == 403


def test_the_dashboard_data_links_each_figure_to_its_list(app, scenario):
    c = signed_in(app, "jijian")
    data = c.get(f"/reports/{scenario.campaign}/dashboard.json").get_json()
    source = next(s for s in data["clues"]["sources"] if s["code"] == "petition")
    assert source["link"] == "/clues?source=petition"
    ledger = c.get(source["link"]).get_data(as_text=True)
    assert "张主任" in ledger and "赵医生" not in ledger
    form = next(f for f in data["clues"]["forms"] if f["code"] == "fourth")
    assert "钱主任" in c.get(form["link"]).get_data(as_text=True)
    assert "王护士" in c.get(data["clues"]["feedback"]["link"]).get_data(as_text=True)    # real-name only
    assert "李技师" not in c.get(data["clues"]["feedback"]["link"]).get_data(as_text=True)
    overdue = data["overdue"][0]
    assert overdue["name"] == "检验科"
    page = c.get(overdue["link"]).get_data(as_text=True)
    # its meeting and its talks (which do not wait for the meeting) are overdue; the other departments' not
    assert "召开动员部署会" in page and "一对一谈心谈话：李技师" in page and "赵医生" not in page
    waike = next(d for d in data["progress"]["departments"] if d["code"] == "waike")
    assert "一对一谈心谈话：赵医生" in c.get(waike["links"]["mobilization"]).get_data(as_text=True)
    admin = signed_in(app, "admin").get(f"/reports/{scenario.campaign}/dashboard.json").get_json()
    assert "clues" not in admin and "progress" in admin                 # clue figures are the office's
    assert signed_in(app, "auditor").get(f"/reports/{scenario.campaign}/dashboard.json").get_json().keys() == \
        {"clues", "progress", "overdue"}


def test_the_report_pages_speak_english_as_the_second_locale(app, scenario):
    from tests.helpers.web import post
    c = signed_in(app, "jijian")
    post(c, "/account/locale", {"locale": "en", "next": "/inbox"})
    page = c.get(f"/reports/{scenario.campaign}/outcomes?cutoff=2026-10-31").get_data(as_text=True)
    assert "Annex 4: campaign summary" in page and "As of" in page and "Export to Excel" in page
    assert "Departments by category" in page and "Middle managers" in page
    assert "Dashboard" in c.get("/reports").get_data(as_text=True)


def test_the_hospital_name_heads_every_report_as_in_the_seeds(app, scenario):
    """Seed 002, 附件2–4: "绍兴市上虞第二人民医院腐败问题专项整治…汇总表" — the hospital's name,
    set once by the administrator (本院信息), heads every report, on the page and in the workbook."""
    admin = signed_in(app, "admin")
    resp = post(admin, "/admin/hospital", {"name": "绍兴市上虞第二人民医院"}, page="/admin/hospital")
    assert resp.status_code == 302
    assert "绍兴市上虞第二人民医院" in admin.get("/admin/hospital").get_data(as_text=True)
    c = signed_in(app, "jijian")
    base = f"/reports/{scenario.campaign}"
    for kind in ("disclosures", "ledger", "outcomes", "monthly"):
        page = c.get(f"{base}/{kind}?cutoff=2026-10-31").get_data(as_text=True)
        assert "绍兴市上虞第二人民医院廉洁医院建设专项整治" in page, kind
        book = load_workbook(io.BytesIO(c.get(f"{base}/{kind}.xlsx?cutoff=2026-10-31").data))
        assert book.active["A1"].value.startswith("绍兴市上虞第二人民医院廉洁医院建设专项整治"), kind
    assert admin.get("/audit/administration").status_code in (200, 403)


def test_a_hospital_name_that_is_too_long_is_refused_on_the_same_page(app, scenario):
    admin = signed_in(app, "admin")
    resp = post(admin, "/admin/hospital", {"name": "医" * 61}, page="/admin/hospital")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "最多 60 个字" in page and "医" * 61 in page
    assert signed_in(app, "jijian").get("/admin/hospital").status_code == 403


def test_outcomes_carry_the_seeds_notes_and_the_cut_off_reads_as_of(app, scenario):
    """Seed 002 附件4's notes 1–3, and 截至 (as of) — not 截止 (deadline) — for the report's day."""
    c = signed_in(app, "jijian")
    page = c.get(f"/reports/{scenario.campaign}/outcomes?cutoff=2026-10-31").get_data(as_text=True)
    assert "“处理人员”中“其他”包括中层以下公职人员、非党员、非公职人员等" in page
    assert "“行政处罚”中仅填写对非党员、非公职人员的处理处罚人数" in page
    assert "截至日期" in page and "截止日期" not in page
    book = load_workbook(io.BytesIO(c.get(f"/reports/{scenario.campaign}/outcomes.xlsx?cutoff=2026-10-31").data))
    text = " ".join(str(v) for row in book.active.iter_rows(values_only=True) for v in row if v)
    assert "“行政处罚”中仅填写对非党员、非公职人员的处理处罚人数" in text and "截至日期" in text



def test_the_office_reads_and_exports_the_red_envelope_register(app, scenario, engine):
    """Seed 000's 上缴登记制度: the office sees who handed in what, with its receipt; others may not."""
    engine.start("gift_handin", started_by="nurse", data={"received_on": "2026-12-09", "giver_kind": "family",
                                                          "how": "office", "amount": 2000, "giver": "=1+1"})
    c = signed_in(app, "jijian")
    page = c.get("/records/gifts?year=2026").get_data(as_text=True)
    assert "王护士" in page and "患者家属" in page and "2000.00" in page and "待登记" in page
    book = load_workbook(io.BytesIO(c.get("/records/gifts.xlsx?year=2026").data))
    assert book.active["A1"].value.endswith("2026年红包上缴登记表") and not str(book.active["F3"].value).startswith("=")
    assert signed_in(app, "nurse").get("/records/gifts").status_code == 403
    bad = c.get("/records/gifts?year=abc")
    assert bad.status_code == 422 and "年度应为 2000 至 2100 之间的四位数字" in bad.get_data(as_text=True)
    assert 'value="abc"' in bad.get_data(as_text=True)


def test_the_problem_list_shows_each_head_their_own_departments_and_the_office_all(app, scenario, engine):
    """Seed 004's 问题清单 with 销号管理: a patrol finding entered by the office for 内科."""
    engine.start("campaign_issue_item", started_by="jijian", data={
        "source": "patrol", "source_ref": "巡察反馈", "department": "neike", "problem": "采购台账不全",
        "measure": "补齐台账", "deadline_days": 10})
    office = signed_in(app, "jijian").get("/records/issues").get_data(as_text=True)
    assert "巡视巡察反馈" in office and "采购台账不全" in office and "整改中" in office
    assert "采购台账不全" in signed_in(app, "neike_head").get("/records/issues").get_data(as_text=True)
    assert "采购台账不全" not in signed_in(app, "waike_head").get("/records/issues").get_data(as_text=True)
    assert signed_in(app, "nurse").get("/records/issues").status_code == 403
    book = load_workbook(io.BytesIO(signed_in(app, "jijian").get("/records/issues.xlsx?status=open").data))
    assert book.active["A1"].value.endswith("问题清单（销号管理）") and book.active["E3"].value == "采购台账不全"
