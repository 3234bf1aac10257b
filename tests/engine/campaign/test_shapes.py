"""Campaigns of every shape the seeds describe, launched from the one campaign process with other
settings (issue 25 items 5, 6, 8 and 9): the profile chosen at launch is read by the decision table
`processes/campaign_profile.dmn`, never by new Python."""
from __future__ import annotations

import pytest

from engine.campaign import matrix as campaign_matrix
from engine.errors import Invalid
from engine.inbox.submission import FormRejected, submit
from engine.org.people import principal
from tests.engine.campaign.test_campaign import (  # noqa: F401 - fixtures
    advance, beijing, campaign_processes, children, do, end_of, escalations, grid_now, hospital, launch_data,
    open_tasks, phases, cell)

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]


def form_opening(engine, task: dict) -> dict:
    """What the task's form opens with (its `prefill`), as the task page shows it."""
    from engine.inbox.form_values import starting_values
    with engine.db.connect() as conn:
        return starting_values(conn, engine, task, None)


def refused(engine, data) -> dict[str, str]:
    with pytest.raises(Invalid) as exc:
        engine.start("campaign", started_by="jijian", data=data)
    return {p.field: p.message for p in exc.value.problems}


# --- item 5: seed 004, a year's campaign with the 重点责任科室 reporting -----------------------------------

def seed_004(departments, **more) -> dict:
    data = launch_data(departments, name="2023年深入开展医疗领域群众身边腐败和作风问题专项整治",
                       doc_no="宝口医发〔2023〕36号", profile="key_departments",
                       mobilization_deadline="2023-03-31", selfcheck_deadline="2023-06-30",
                       rectification_deadline="2023-11-30", consolidation_deadline="2023-12-31",
                       disclosure_deadline="2023-06-30", report_day=20)
    data.update(more)
    return data


def test_seed_004_only_the_key_departments_report_monthly_with_a_statistics_table(
        engine, db, clock, hospital, campaign_processes):
    """Seed 004 (宝口医发〔2023〕36号): "专项整治从2023年3月份开始，至12月底结束"; self-inspection "6月底前全部
    完成"; "重点责任科室每月 20 日前报送本月专项整治工作进展情况和相关数据统计表". 药剂科 and 检验科 are
    重点责任科室 (seed: 药事科、检验科); 内科 and 外科 take part but do not report monthly."""
    clock.set(beijing("2023-03-01"))
    scope = ["neike", "waike", "yaojike", "jianyanke"]
    cid = engine.start("campaign", started_by="jijian", business_key="宝口医发〔2023〕36号",
                       data=seed_004(scope, key_departments=["yaojike", "jianyanke"])).id
    assert phases(engine, cid) == ["mobilization"]
    assert len(children(db, cid, "campaign_mobilization_dept")) == 4        # every department is mobilized
    reports = open_tasks(db, element="fill_report", key="campaign_monthly_report")
    assert sorted(t.candidate_department for t in reports) == ["jianyanke", "yaojike"]
    assert {t.due_at for t in reports} == {end_of("2023-03-20")}
    # the statistics table is structured: numbers, refused when not
    task = reports[0]
    with db.connect() as conn:
        head = principal(conn, f"{task.candidate_department}_head")
    with pytest.raises(FormRejected) as exc:
        submit(engine, head, task.id, {"month": "2023-03-01", "progress": "开展药品耗材采购自查",
                                          "stat_problems_found": "三个"})
    assert "stat_problems_found" in exc.value.submission.errors
    submit(engine, head, task.id, {"month": "2023-03-01", "progress": "开展药品耗材采购自查",
                                      "stat_problems_found": 3, "stat_problems_fixed": 1, "stat_clues_received": 0,
                                      "stat_people_trained": 42})
    report = engine.show(task.instance_id).data
    assert report["stat_problems_found"] == 3 and report["stat_people_trained"] == 42
    advance(engine, clock, beijing("2023-07-01", 8))                        # self-inspection ended with June
    assert phases(engine, cid) == ["mobilization", "selfcheck", "rectification"]
    assert {t.candidate_department for t in open_tasks(db, element="fill_report", key="campaign_monthly_report")} \
        == {"yaojike", "jianyanke"}
    # March to June, and July's round started once June's report day had passed: two departments each
    assert len(children(db, cid, "campaign_monthly_report")) == 2 * 5


def test_seed_004_profile_needs_its_key_departments_among_those_in_scope(engine, db, clock, hospital,
                                                                       campaign_processes):
    """Seed 004: the monthly report comes from the 重点责任科室 — a launch naming none, or one not taking
    part, is refused on that field and starts nothing."""
    clock.set(beijing("2023-03-01"))
    assert refused(engine, seed_004(["neike", "yaojike"]))["key_departments"] == \
        "本类型由重点责任科室每月报送，请选择重点责任科室"
    assert "须为参与科室" in refused(engine, seed_004(["neike", "yaojike"], key_departments=["jianyanke"]))[
        "key_departments"]
    assert children(db, "none") == [] and open_tasks(db) == []


# --- items 5 and 6: seeds 001 and 000, multi-year action plans with a work plan ---------------------

def seed_001(**more) -> dict:
    data = {"name": "西藏成办医院“廉洁医院建设行动”", "doc_no": "藏成院党发〔2024〕37号", "profile": "action_plan",
            "departments": ["yiwuke", "hulibu", "caiwuke", "yaojike"], "end_date": "2024-12-31", "report_day": 12,
            "yearly_goals": [{"year": 2024, "goal": "廉洁医院建设体系成熟定型"}],
            "key_tasks": [
                {"task": "(3)全面执行“九项准则”", "measure": "细化完善院内规范，纳入各级各类培训，定期开展自查自纠",
                 "leader": "shuji", "departments": ["yiwuke"], "schedule": "2024-09-30", "target": "医务人员全员培训"},
                {"task": "(10)抓实关键权力运行监督", "measure": "建立药品、耗材超常使用预警制度", "leader": "shuji",
                 "departments": ["yaojike", "caiwuke"], "schedule": "2024-11-30", "target": "预警制度建立并运行"}]}
    data.update(more)
    return data


def test_seed_001_action_plan_has_no_phases_and_its_key_tasks_become_tracked_work(
        engine, db, clock, hospital, campaign_processes):
    """Seed 001 (藏成院党发〔2024〕37号, 2024年7月20日): no phases; each key task of the 工作计划表 with its
    具体措施, 责任领导, 责任科室, 进度安排 and 目标成效; "各职能科室对照《廉洁医院建设行动工作计划表》中重点任务、
    具体措施、进度安排以及目标成效，每月12日前向纪委(审计)办公室报告工作推进落实情况"."""
    clock.set(beijing("2024-07-22"))
    cid = engine.start("campaign", started_by="jijian", data=seed_001()).id
    assert phases(engine, cid) == []                                # no phase at all
    assert children(db, cid, "campaign_mobilization_dept") == []
    work = open_tasks(db, element="carry_out", key="campaign_key_task")
    assert sorted((t.candidate_department, t.name, t.due_at) for t in work) == [
        ("caiwuke", "落实重点任务：(10)抓实关键权力运行监督", end_of("2024-11-30")),
        ("yaojike", "落实重点任务：(10)抓实关键权力运行监督", end_of("2024-11-30")),
        ("yiwuke", "落实重点任务：(3)全面执行“九项准则”", end_of("2024-09-30"))]
    # the monthly report: from the departments the plan names, by the 12th, against their key tasks
    reports = open_tasks(db, element="fill_report", key="campaign_monthly_report")
    assert sorted(t.candidate_department for t in reports) == ["caiwuke", "yaojike", "yiwuke"]
    assert {t.due_at for t in reports} == {end_of("2024-08-12")}
    report = next(t for t in reports if t.candidate_department == "yiwuke")
    opening = form_opening(engine, report)
    assert [t["task"] for t in opening["key_tasks"]] == ["(3)全面执行“九项准则”"]
    assert opening["key_tasks"][0]["target"] == "医务人员全员培训"
    done = engine.complete_task(report.id, user="yiwuke_head", data={
        "month": "2024-08-01", "progress": "九项准则培训两场",
        "key_tasks": [{"task": "(3)全面执行“九项准则”", "progress": "已完成全院培训两场，覆盖 80%"}]})
    assert done.data["key_tasks"][0]["progress"] == "已完成全院培训两场，覆盖 80%"
    # a key task is carried out with its evidence; the matrix counts it in the plan column
    task = next(t for t in work if t.candidate_department == "yiwuke")
    engine.complete_task(task.id, user="yiwuke_head", data={"result": "纳入岗前教育", "target_met": True,
                                                              "completed_on": "2024-09-20"})
    grid = grid_now(engine, db, cid)
    assert [c["code"] for c in grid["columns"]] == ["monthly", "plan"]
    assert cell(grid, "yiwuke", "plan")["state"] == "done"
    assert cell(grid, "hulibu", "plan")["state"] == "none"
    # the plan ends on its end date: then the campaign ends (转入常态化)
    advance(engine, clock, beijing("2025-01-02"))
    assert phases(engine, cid) == ["ended"]
    assert engine.show(cid).status == "completed"


def test_seed_001_action_plan_needs_an_end_date_and_a_work_plan(engine, db, clock, hospital, campaign_processes):
    """Seeds 000/001: a plan without phases runs until its end date and is carried by its work plan."""
    clock.set(beijing("2024-07-22"))
    problems = refused(engine, seed_001(end_date=None, key_tasks=[]))
    assert problems["end_date"].startswith("请填写“专项整治结束日期”")
    assert problems["key_tasks"] == "本类型按工作计划表推进，请至少填写一项重点任务"
    assert "mobilization_deadline" not in problems                 # no phase: no phase deadline asked
    problems = refused(engine, seed_001(key_tasks=[dict(seed_001()["key_tasks"][0], schedule="2025-03-31",
                                                        departments=["erke"])]))
    assert problems["key_tasks[0].schedule"] == "第 1 项重点任务：完成时限不能晚于专项整治结束（2024-12-31）"
    assert problems["key_tasks[0].departments"] == "第 1 项重点任务：责任科室须为参与科室"


def test_seed_000_four_year_plan_with_yearly_goals(engine, db, clock, hospital, campaign_processes):
    """Seed 000 (泰肿防党发〔2021〕26号, 廉洁从业行动计划（2021-2024年）): "自2021年至2024年，集中开展整治“红包”、
    回扣专项行动" — one launch for four years, with a goal per year and the work plan's tasks."""
    clock.set(beijing("2021-06-01"))
    goals = [{"year": y, "goal": g} for y, g in ((2021, "建立红包上缴登记制度"), (2022, "行风教育100%覆盖"),
                                                 (2023, "完善院内管理制度"), (2024, "构建长效机制"))]
    cid = engine.start("campaign", started_by="jijian", data={
        "name": "泰安市肿瘤防治院及其工作人员廉洁从业行动计划（2021-2024年）", "doc_no": "泰肿防党发〔2021〕26号",
        "profile": "action_plan", "departments": ["yiwuke", "neike"], "end_date": "2024-12-31", "report_day": 20,
        "yearly_goals": goals,
        "key_tasks": [{"task": "（九）落实纠治“红包”责任", "measure": "建立上缴登记制度", "departments": ["yiwuke", "neike"],
                       "schedule": "2021-12-31", "target": "不知情或不可抗红包全部登记上缴"}]}).id
    with db.connect() as conn:
        camp = campaign_matrix.campaign(conn, cid)
    assert [g["year"] for g in camp["launch"]["yearly_goals"]] == [2021, 2022, 2023, 2024]
    assert len(open_tasks(db, element="carry_out", key="campaign_key_task")) == 2
    advance(engine, clock, beijing("2022-01-05"))
    assert engine.show(cid).status == "active"                      # the plan runs on into 2022…
    assert phases(engine, cid) == []


# --- item 8: mobilization level by level ----------------------------------------------------------

def test_seed_002_talks_level_by_level_and_meeting_attendance_against_headcount(
        engine, db, clock, hospital, campaign_processes):
    """Seed 002: "分层分岗、逐级逐人开展谈心谈话 … 各科室（站）负责人要认真履行第一责任人责任，带头与科室职工开展
    谈心谈话"; "全院各科室（站）开展全员参与、全面覆盖的动员部署". The 分管院领导 talks to the heads of the
    departments he oversees; talks start with the phase, not after the meeting; the meeting's attendance
    is checked against the department's headcount (head and two staff: 3)."""
    clock.set(beijing("2021-08-16"))
    cid = engine.start("campaign", started_by="jijian", data=launch_data(
        ["neike", "waike"], leaders=[{"person": "shuji", "departments": ["neike"]}])).id
    # the talks are open before any meeting is held
    assert len(open_tasks(db, element="talk", department="neike")) == 2
    leader_talks = open_tasks(db, element="leader_talk")
    assert sorted((t.name, t.assignee) for t in leader_talks) == [
        ("分管院领导与科室负责人谈心谈话：内科主任", "shuji"),
        ("分管院领导与科室负责人谈心谈话：外科主任", None)]          # none named for 外科: the group's to claim
    # attendance: more than the headcount is refused; fewer needs the make-up arrangement
    [meeting] = open_tasks(db, element="meeting", department="neike")
    with pytest.raises(Invalid) as exc:
        engine.complete_task(meeting.id, user="neike_head", data={"meeting_date": "2021-08-18", "attendance": 5})
    assert (exc.value.problems[0].field, exc.value.problems[0].message) == \
        ("attendance", "参会人数（5）超过本科室在岗人数（3）")
    with pytest.raises(Invalid) as exc:
        engine.complete_task(meeting.id, user="neike_head", data={"meeting_date": "2021-08-18", "attendance": 2})
    assert exc.value.problems[0].field == "makeup"
    engine.complete_task(meeting.id, user="neike_head", data={
        "meeting_date": "2021-08-18", "attendance": 2, "makeup": "职工2 夜班，8月19日补学", "trained": 3})
    do(engine, db, "meeting", "waike_head", {"meeting_date": "2021-08-18", "attendance": 3}, department="waike")
    with db.connect() as conn:
        reach = campaign_matrix.coverage(conn, cid)
    assert [(r["name"], r["headcount"], r["attendance"], r["trained"], r["percent"]) for r in reach["rows"]] == [
        ("内科", 3, 2, 3, 100), ("外科", 3, 3, 3, 100)]
    assert reach["total"]["percent"] == 100                      # seed 000: 行风教育实现100%覆盖
    # 内科's mobilization is done only when the leader has talked to its head too
    for talk in open_tasks(db, element="talk", department="neike"):
        engine.complete_task(talk.id, user="neike_head", data={"talk_date": "2021-08-19"})
    assert cell(grid_now(engine, db, cid), "neike", "mobilization")["state"] == "progress"
    neike_leader = next(t for t in leader_talks if t.assignee == "shuji")
    engine.complete_task(neike_leader.id, user="shuji", data={"talk_date": "2021-08-19", "summary": "压实第一责任人责任"})
    assert cell(grid_now(engine, db, cid), "neike", "mobilization")["state"] == "done"


# --- item 9: a campaign already under way --------------------------------------------------------

def test_seed_002_campaign_entered_while_under_way(engine, db, clock, hospital, campaign_processes):
    """Seed 002's calendar (宣传动员 8月20日前, 自查自纠 8月底前, 集中整治 9-10月, 巩固提升 11-12月), entered
    into the system on 10 September 2021: the two phases already done take their past dates, the
    campaign moves on to 集中整治 and their records are entered afterwards, marked 补录 and never overdue."""
    clock.set(beijing("2021-09-10"))
    data = launch_data(["neike", "waike"])
    problems = refused(engine, data)
    assert problems["mobilization_deadline"].startswith("“宣传动员阶段截止”不能早于今天（2021-09-10）；已在进行中")
    assert "selfcheck_deadline" in problems and "rectification_deadline" not in problems
    problems = refused(engine, dict(data, under_way=True, consolidation_deadline="2021-09-01"))
    assert "consolidation_deadline" in problems                   # its end may not be past
    cid = engine.start("campaign", started_by="jijian", data=dict(data, under_way=True)).id
    advance(engine, clock, beijing("2021-09-10", 10))
    assert phases(engine, cid) == ["mobilization", "selfcheck", "rectification"]
    talks = open_tasks(db, element="talk", department="neike")
    risk = open_tasks(db, element="risk_list", department="neike")
    assert len(talks) == 2 and len(risk) == 1
    office = open_tasks(db, element="set_up_task_force") + open_tasks(db, element="clue_backlog")
    assert len(office) == 2
    assert {t.due_at for t in talks + risk + office} == {None}  # entered late: no deadline to miss
    advance(engine, clock, beijing("2021-09-20"))                # the September report is late, not the 补录
    assert not {t.id for t in talks + risk} & set(escalations(db, "neike"))
    grid = grid_now(engine, db, cid)
    c = cell(grid, "neike", "mobilization")
    assert (c["state"], c["late_entry"]) == ("progress", True)
    assert cell(grid, "neike", "monthly")["late_entry"] is False
    # the records entered afterwards (补录) complete the phase's work as usual
    do(engine, db, "meeting", "neike_head", {"meeting_date": "2021-08-18", "attendance": 3}, department="neike")
    for talk in talks:
        engine.complete_task(talk.id, user="neike_head", data={"talk_date": "2021-08-19"})
    [leader_talk] = [t for t in open_tasks(db, element="leader_talk") if t.instance_id == talks[0].instance_id]
    engine.complete_task(leader_talk.id, user="shuji", data={"talk_date": "2021-08-19"})
    c = cell(grid_now(engine, db, cid), "neike", "mobilization")
    assert (c["state"], c["late_entry"]) == ("done", True)


# --- item 7: the self-inspection's problems go to the problem list ------------------------------------

def test_seed_004_problems_found_in_self_inspection_are_listed_and_closed_out(engine, db, clock, hospital,
                                                                             campaign_processes):
    """Seed 004: "深入自查自纠…对查摆出的问题，要建立问题清单，实行销号管理，明确责任、强化措施，推动问题解决…
    6月底前全部完成". Once the office accepts 药剂科's self-inspection, each problem it found is an item of
    the problem list (source 科室自查自纠), rectified by 药剂科 and closed out by the office."""
    from engine.records import issues
    clock.set(beijing("2023-03-01"))
    engine.start("campaign", started_by="jijian", data=seed_004(["yaojike"], key_departments=["yaojike"]))
    advance(engine, clock, beijing("2023-04-03"))                           # self-inspection from April
    do(engine, db, "risk_list", "yaojike_head", {
        "risks": [{"post": "药品采购", "description": "收受回扣", "grade": "一级", "measure": "集体议价",
                   "owner": "yaojike_1"}],
        "problems": [{"problem": "药品遴选无会议记录", "measure": "建立遴选会议记录制度", "deadline_days": 10},
                     {"problem": "医药代表接待未登记", "measure": "实行接待登记", "deadline_days": 5}]},
       department="yaojike")
    with db.connect() as conn:
        assert issues.items(conn, now=clock.now()) == []                  # not before the office accepts it
    do(engine, db, "review", "jijian", {"accepted": True}, key="campaign_selfcheck_dept")
    with db.connect() as conn:
        rows = issues.items(conn, now=clock.now())
    assert [(r["source"], r["department"], r["problem"], r["status"]) for r in rows] == [
        ("self_inspection", "yaojike", "药品遴选无会议记录", "rectifying"),
        ("self_inspection", "yaojike", "医药代表接待未登记", "rectifying")]
    rectify = open_tasks(db, element="rectify", department="yaojike")
    assert len(rectify) == 2 and all(t.due_at for t in rectify)
    engine.complete_task(rectify[0].id, user="yaojike_head", data={
        "done": "已建立制度", "evidence": ["1"], "completed_on": "2023-04-10"})
    do(engine, db, "verify", "jijian", {"verdict": "close"}, key="campaign_issue_item")
    with db.connect() as conn:
        assert sorted(r["status"] for r in issues.items(conn, now=clock.now())) == ["closed_out", "rectifying"]


# --- item 10: 所属整治工作项目 is one of the campaign's focus areas ---------------------------------------

def test_seed_002_outcome_item_is_chosen_from_the_campaigns_focus_areas(engine, db, clock, hospital,
                                                                        campaign_processes):
    """Seed 002 附件4 counts outcomes row by row per 整治工作项目; the outcome names its item from the
    running campaign's focus areas (a select), so a typed variant cannot open a row of its own."""
    from engine.forms import MemoryLookups, validate_submission
    clock.set(beijing("2021-08-16"))
    areas = ["重点岗位权力运行方面的问题", "医药购销领域的问题"]
    engine.start("campaign", started_by="jijian", data=launch_data(
        ["neike"], focus_areas=[{"area": a} for a in areas]))
    form = engine.forms.with_options(engine.forms.get("clue_outcome"))
    assert [o["const"] for o in form["schema"]["properties"]["campaign_item"]["oneOf"]] == areas
    outcome = {"discipline_form": "first", "measure": "谈话提醒", "publicized": False}
    ok = validate_submission(form, dict(outcome, campaign_item=areas[1]), lookups=MemoryLookups())
    assert ok.ok and ok.data["campaign_item"] == "医药购销领域的问题"
    typed = validate_submission(form, dict(outcome, campaign_item="医药购销方面问题"), lookups=MemoryLookups())
    assert "campaign_item" in typed.errors
    assert validate_submission(form, outcome, lookups=MemoryLookups()).ok        # none: 未归类
