"""The reports computed from what happened (engine/reports): every cell of 附件2, 附件3, 附件4 and the
monthly progress report checked against the scenario of tests/reports_scenario.py, counted by hand,
at two cut-off days; the dashboard's figures; the exported workbooks opened with openpyxl."""
from __future__ import annotations

from datetime import date

import pytest

from engine.db.transactions import read_transaction
from engine.campaign.reports.common import campaign_ref, cutoff_instant
from engine.campaign.reports.disclosures import disclosures
from engine.campaign.reports.ledger import campaign_clues
from engine.campaign.reports.monthly import monthly
from engine.campaign.reports.outcomes import outcomes
from tests.engine.campaign.reports_scenario import ITEM_A, ITEM_B, ITEM_C, scenario, vault  # noqa: F401  (fixture)

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]


def _report(engine, fn, campaign_id, cutoff: str, **kw):
    with read_transaction(engine.db) as conn:
        camp = campaign_ref(conn, campaign_id)
        return fn(conn, camp, date.fromisoformat(cutoff), engine.clock.now(), **kw)


def _disclosures(engine, campaign_id, cutoff: str):
    with read_transaction(engine.db) as conn:
        return disclosures(conn, campaign_id, cutoff_instant(date.fromisoformat(cutoff)))


def _strip(rows):
    return [{k: r[k] for k in ("name", "people", "issues", "money", "goods", "on_time", "late")} for r in rows]


# --- 附件2 ----------------------------------------------------------------------------------------

def test_disclosure_summary_counts_people_issues_money_and_goods_per_department_up_to_the_cut_off(engine, scenario):
    at_october = _disclosures(engine, scenario.campaign, "2026-10-31")
    # 内科: 王护士 (2 issues, 0.50 万元) and 李护士 (1 issue, 3 goods), both before the 23 October deadline;
    # 外科: 赵医生 on 26 October (1 issue, 1.20 万元), late; 孙技师 of 检验科 disclosed on 5 November
    assert _strip(at_october["rows"]) == [
        {"name": "内科", "people": 2, "issues": 3, "money": "0.50", "goods": 3, "on_time": 2, "late": 0},
        {"name": "外科", "people": 1, "issues": 1, "money": "1.20", "goods": 0, "on_time": 0, "late": 1}]
    assert at_october["total"] == {"people": 3, "issues": 4, "money": "1.70", "goods": 3, "on_time": 2, "late": 1}
    later = _disclosures(engine, scenario.campaign, "2026-12-10")
    assert _strip(later["rows"])[2] == {"name": "检验科", "people": 1, "issues": 1, "money": "0.00", "goods": 1,
                                        "on_time": 0, "late": 1}
    assert later["total"] == {"people": 4, "issues": 5, "money": "1.70", "goods": 4, "on_time": 2, "late": 2}
    assert _disclosures(engine, scenario.campaign, "2026-10-19") == {"rows": [], "total": {
        "people": 0, "issues": 0, "money": "0.00", "goods": 0, "on_time": 0, "late": 0}}


# --- 附件3 ----------------------------------------------------------------------------------------

def _ledger(engine, campaign_id, cutoff):
    return [(r["person_name"], r["person_position"], r["summary"], r["source_name"], r["received_on"],
             r["result"] or r["stage"]) for r in _report(engine, campaign_clues, campaign_id, cutoff)]


def test_the_ledger_holds_the_campaigns_clues_as_they_stood_at_the_cut_off(engine, scenario):
    rows = _ledger(engine, scenario.campaign, "2026-10-31")
    # K7 was received before the campaign but its outcome names the campaign; K8 does not belong to it;
    # K6 was received on 2 November; 赵医生's clue was still being analysed on 31 October
    assert rows[:2] == [
        ("钱主任", "检验科主任", "上级交办：钱主任与试剂供应商往来", "上级纪委监委交办", "2026-09-10",
         "初步核实；反映属实；第四种形态（立案审查）；已通报"),
        ("张主任", "内科主任", "反映张主任收受医药代表礼品", "信访举报", "2026-09-28",
         "谈话函询；谈话；说明清楚，予以了结；第一种形态（谈话提醒）；完善制度1项")]
    assert sorted(rows[2:]) == sorted([
        ("周科长", "财务科科长", "巡察反映报销不规范", "巡视巡察", "2026-09-29", "予以了结；了结理由：研判意见"),
        ("李护士", "护士", "涉嫌违法，需移交", "自行发现", "2026-09-29", "移交；移交区监委（已回执）"),
        ("赵医生", "外科医生", "反映赵医生收受红包", "检举控告", "2026-09-29", "分析研判"),
        ("李技师", "检验技师", "审计发现违规收费", "审计发现", "2026-09-29",
         "初步核实；反映属实；不予处理；行政处罚：记过；已通报；完善制度2项")])
    early = _ledger(engine, scenario.campaign, "2026-10-08")
    assert [r[0] for r in early][:1] == ["张主任"] and len(early) == 5          # K7 not yet linked
    assert dict((r[0], r[5]) for r in early)["张主任"] == "分析研判"            # handled on 9 October
    now = _ledger(engine, scenario.campaign, "2026-12-10")
    assert len(now) == 7 and dict((r[0], r[5]) for r in now)["赵医生"] == "初步核实；反映属实；第二种形态（党内警告）"


# --- 附件4 ----------------------------------------------------------------------------------------

def _cells(r):
    d, p, f = r["departments"], r["people"], r["forms"]
    return [d["administrative"], d["clinical"], d["medical_technical"], d["total"], p["middle_manager"], p["other"],
            p["total"], f["first"], f["second"], f["third"], f["fourth"], f["total"], r["admin_penalty"],
            r["publicized"], r["rules"]]


def test_the_outcome_summary_counts_each_campaign_item_by_category_level_and_form(engine, scenario):
    report = _report(engine, outcomes, scenario.campaign, "2026-10-31")
    #                                职 临 技 计 中 其 计 一 二 三 四 计 罚 通 制
    assert [(r["item"], _cells(r)) for r in report["rows"]] == [
        (ITEM_A, [0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1]),     # 张主任, 内科: 1st form, 1 rule
        (ITEM_B, [0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 2]),     # 李技师, not a party member: 记过, 通报, 2 rules
        (ITEM_C, [0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0])]     # 钱主任: 4th form, 通报
    assert _cells(report["total"]) == [0, 1, 1, 2, 2, 1, 3, 1, 0, 0, 1, 2, 1, 2, 3]

    report = _report(engine, outcomes, scenario.campaign, "2026-12-10")
    assert [(r["item"], _cells(r)) for r in report["rows"]] == [
        (ITEM_A, [0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1]),
        (ITEM_B, [0, 1, 1, 2, 0, 2, 2, 0, 1, 0, 0, 1, 1, 1, 2]),     # + 赵医生 of 外科: 2nd form (2 November)
        (ITEM_C, [0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0]),
        ("以案促改（完善制度）", [0, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3])]  # 内科 2 rules, 检验科 1
    # departments and people counted once across items: 内科, 外科, 检验科; 张主任, 钱主任 / 李技师, 赵医生
    assert _cells(report["total"]) == [0, 2, 1, 3, 2, 2, 4, 1, 1, 0, 1, 3, 1, 2, 6]


# --- the monthly report -----------------------------------------------------------------------------

def _month(r):
    return (r["name"], r["due"], r["due_done"], r["percent"], r["done"], r["in_time"],
            [(o["name"], o["due_on"]) for o in r["overdue"]], r["report"])


def test_the_monthly_report_sets_what_was_due_in_october_against_what_was_done_and_what_is_overdue(engine, scenario):
    report = _report(engine, monthly, scenario.campaign, "2026-10-31")
    assert report["month"] == date(2026, 10, 1)
    assert [(p["phase"], p["name"], p["deadline"]) for p in report["plan"]] == [
        ("mobilization", "宣传动员", "2026-10-16"), ("selfcheck", "自查自纠", "2026-10-30")]
    # due in October: the meeting and talks (16th), the report (12th), the risk list (30th)
    assert [_month(r) for r in report["rows"]] == [
        # 内科: meeting and two talks done on 29 September, report on the 9th, risk list on the 20th
        ("内科", 5, 5, 100, 2, 2, [], {"state": "submitted", "on": "2026-10-09", "late": False}),
        # 外科: meeting on the 10th, report on the 14th (late); the talk and the risk list overdue
        ("外科", 4, 2, 50, 2, 1, [("一对一谈心谈话：赵医生", "2026-10-16"), ("填报廉洁风险排查清单", "2026-10-30")],
         {"state": "submitted", "on": "2026-10-14", "late": True}),
        # 检验科: nothing done (its talks did not wait for the meeting: they are due too, and overdue)
        ("检验科", 5, 0, 0, 0, 0, [("填报月度工作进展", "2026-10-12"), ("召开动员部署会", "2026-10-16"),
                                 ("一对一谈心谈话：李技师", "2026-10-16"), ("一对一谈心谈话：孙技师", "2026-10-16"),
                                 ("填报廉洁风险排查清单", "2026-10-30")], {"state": "overdue", "on": "2026-10-12"}),
        # 财务科: everything in October, in time
        ("财务科", 4, 4, 100, 4, 4, [], {"state": "submitted", "on": "2026-10-12", "late": False})]
    assert report["total"] == {"due": 18, "due_done": 11, "done": 8, "in_time": 7, "overdue": 7, "percent": 61}
    mine = _report(engine, monthly, scenario.campaign, "2026-10-31", departments={"waike"})
    assert [r["name"] for r in mine["rows"]] == ["外科"] and mine["total"]["overdue"] == 2


# --- the dashboard's figures ------------------------------------------------------------------------

def test_dashboard_figures_count_clues_by_source_disposal_form_and_status_and_overdue_work_by_department(
        engine, scenario):
    from engine.campaign.reports import dashboard
    now = engine.clock.now()                                         # 2026-12-10
    with read_transaction(engine.db) as conn:
        clues = dashboard.clue_figures(conn, now)
        camp = dashboard.campaign_figures(conn, scenario.campaign, now)
        overdue = dashboard.overdue_tasks(conn, scenario.campaign, now, "waike")
    assert [(s["name"], s["count"]) for s in clues["sources"]] == [
        ("信访举报", 2), ("检举控告", 1), ("巡视巡察", 1), ("上级纪委监委交办", 1), ("审计发现", 1), ("自行发现", 2)]
    assert [(d["code"], d["count"]) for d in clues["disposals"]] == [
        ("talk_inquiry", 1), ("verify", 3), ("hold", 0), ("close", 1), ("transfer", 1), ("report_up", 0)]
    assert [(f["code"], f["count"]) for f in clues["forms"]] == [("first", 1), ("second", 1), ("third", 0), ("fourth", 1)]
    # real-name: 张主任's and 周科长's reporters were told twice; K6's (2 November) nothing yet
    assert clues["feedback"] == {"real_name": 3, "accepted": 2, "accepted_pct": 66.7, "with_result": 2, "told": 2,
                                 "told_pct": 100.0}
    status = clues["status"]
    assert status["days"][0] == "2026-09-01" and status["days"][-1] == "2026-12-10"
    day = status["days"].index("2026-10-09")           # K8, K7, K1–K5 received; K1, K4, K5 closed that day
    assert (status["open"][day], status["closed"][day]) == (4, 3)
    # K7, assigned by the higher commission, stays open until its result is reported back to it
    assert (status["open"][-1], status["closed"][-1]) == (3, 5)
    # overdue on 10 December: 检验科's meeting, its two talks (they do not wait for the meeting), October
    # report and risk list, and every November report but 内科's; 外科's talk
    assert [(d["name"], d["count"]) for d in camp["overdue"]] == [("检验科", 6), ("外科", 2), ("财务科", 1)]
    assert sorted(t["name"] for t in overdue) == ["一对一谈心谈话：赵医生", "填报月度工作进展"]
    progress = {s["phase"]: dict(zip([d["code"] for d in camp["progress"]["departments"]], s["data"]))
                for s in camp["progress"]["series"]}
    # 外科: its meeting held; its talk and the leader's talk with its head open (1 of 3)
    assert progress["mobilization"] == {"caiwuke": 100, "neike": 100, "waike": 33, "jianyanke": 0}
    assert progress["consolidation"] == {"caiwuke": 0, "neike": 100, "waike": 0, "jianyanke": 100}


# --- the workbooks ------------------------------------------------------------------------------------

def _open(data: bytes):
    import io
    from openpyxl import load_workbook
    return load_workbook(io.BytesIO(data)).active


def _merged(ws) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


def test_the_workbooks_have_the_seeds_headers_merged_cells_and_totals(engine, scenario):
    from engine.campaign.reports import workbooks
    from engine.campaign.reports.common import Signature
    sign = Signature("陈纪检", "82676537", "冯书记")
    cutoff = date(2026, 12, 10)
    ws = _open(workbooks.disclosure_workbook(_disclosures(engine, scenario.campaign, "2026-12-10"), title="附件2标题",
                                             sign=sign, cutoff=cutoff))
    assert _merged(ws) == {"A1:F1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:F2", "A7:B7"}
    assert [c.value for c in ws[2]] == ["序号", "科室名称", "主动说明问题\n（情况）人数", "主动说明问题\n（情况）个数",
                                        "主动上交钱款（金额，单位：万元）／财物（数量）", None]
    assert [c.value for c in ws[3]][4:] == ["钱款（万元）", "财物（数量）"]
    assert [[c.value for c in ws[r]] for r in (4, 5, 6, 7)] == [
        [1, "内科", 2, 3, 0.5, 3], [2, "外科", 1, 1, 1.2, 0], [3, "检验科", 1, 1, 0, 1], ["合计", None, 4, 5, 1.7, 4]]
    assert ws["A9"].value == "填报人：陈纪检" and ws["C9"].value == "联系电话：82676537" and ws["E9"].value == "审核人：冯书记"
    assert ws["A10"].value.startswith("说明：统计口径为专项整治工作启动以来") and ws["A11"].value == "截至日期：2026年12月10日"

    ws = _open(workbooks.outcome_workbook(_report(engine, outcomes, scenario.campaign, "2026-12-10"), title="附件4标题",
                                          sign=sign, cutoff=cutoff))
    assert _merged(ws) == {"A1:P1", "A2:A3", "B2:E2", "F2:H2", "I2:M2", "N2:N3", "O2:O3", "P2:P3"}
    assert [c.value for c in ws[2]] == ["整治工作项目", "科室类别（个数）", None, None, None, "处理人员（人数）", None, None,
                                        "四种形态运用（人数）", None, None, None, None, "行政处罚（人数）", "通报问题（个数）",
                                        "完善制度（个数）"]
    assert [c.value for c in ws[3]][1:13] == ["职能科室", "临床科室", "医技科室", "合计", "中层人员", "其他", "合计",
                                              "第一种形态", "第二种形态", "第三种形态", "第四种形态", "合计"]
    assert [c.value for c in ws[4]] == [ITEM_A, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1]
    assert [c.value for c in ws[8]] == ["合计", 0, 2, 1, 3, 2, 2, 4, 1, 1, 0, 1, 3, 1, 2, 6]

    ws = _open(workbooks.monthly_workbook(_report(engine, monthly, scenario.campaign, "2026-10-31"), title="月报",
                                          sign=sign, cutoff=date(2026, 10, 31)))
    assert _merged(ws) == {"A1:I1", "A2:A3", "B2:B3", "C2:E2", "F2:G2", "H2:H3", "I2:I3", "A8:B8"}
    assert [c.value for c in ws[3]][2:7] == ["应完成", "已完成", "完成率", "完成", "其中按期"]
    assert [c.value for c in ws[5]] == [2, "外科", 4, 2, "50%", 2, 1,
                                        "一对一谈心谈话：赵医生（2026-10-16到期）；填报廉洁风险排查清单（2026-10-30到期）",
                                        "已报送（2026-10-14），逾期"]
    assert [c.value for c in ws[8]][:8] == ["合计", None, 18, 11, "61%", 8, 7, "7项"]
