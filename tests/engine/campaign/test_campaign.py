"""The campaign (专项整治) as executable BPMN, on a virtual clock: seed 002's calendar for a 12-department
hospital end to end, and seed 004's March–December variant with the report day on the 20th."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine.campaign import matrix as campaign_matrix
from engine.org import people as org
from engine import permissions
from engine.db.transactions import write_transaction
from engine.errors import Invalid
from engine.org.people import principal
from engine.db.schema import human_task, notification, process_instance
from engine.bpmn.validation import SourceFile
from engine.deadlines.workdays import BEIJING
from engine.runtime.views import HumanTask

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]

# Twelve departments, as in seed 002's hospital: code, name, category.
DEPARTMENTS = (
    ("neike", "内科", "clinical"), ("waike", "外科", "clinical"), ("fuchanke", "妇产科", "clinical"),
    ("erke", "儿科", "clinical"), ("jizhenke", "急诊科", "clinical"), ("yanke", "眼科", "clinical"),
    ("jianyanke", "检验科", "medical_technical"), ("fangsheke", "放射科", "medical_technical"),
    ("yaojike", "药剂科", "medical_technical"), ("yiwuke", "医务科", "administrative"),
    ("hulibu", "护理部", "administrative"), ("caiwuke", "财务科", "administrative"),
)
OFFICE = ("jijianshi", "纪检监察室", "administrative")


def beijing(day: str, hour: int = 9, minute: int = 0) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=BEIJING).astimezone(timezone.utc)


def end_of(day: str) -> datetime:
    """24:00 Beijing at the end of `day`, the deadline convention."""
    return beijing((date.fromisoformat(day) + timedelta(days=1)).isoformat(), 0)


@pytest.fixture
def hospital(db, clock, password_hash):
    """Twelve departments, each with a head and two staff; the discipline office, a task force
    member and the party secretary (leadership group)."""
    now = clock.now()
    with write_transaction(db) as conn:
        for code, name, category in DEPARTMENTS + (OFFICE,):
            org.save_department(conn, {"code": code, "name_zh": name, "category": category}, now)
        for code, name, _ in DEPARTMENTS:
            org.save_staff(conn, {"username": f"{code}_head", "name": f"{name}主任", "department": code,
                                  "roles": ["staff", "department_head"], "position_level": "middle_manager"}, now,
                           password_hash=password_hash)
            for i in (1, 2):
                org.save_staff(conn, {"username": f"{code}_{i}", "name": f"{name}职工{i}", "department": code,
                                      "roles": ["staff"]}, now, password_hash=password_hash)
            org.save_department(conn, {"code": code, "name_zh": name, "category": _, "head": f"{code}_head"}, now)
        for username, name, roles in (("jijian", "赵纪检", ["staff", "discipline_office"]),
                                      ("zhuanban", "钱专班", ["staff", "task_force"]),
                                      ("shuji", "孙书记", ["staff", "leadership_group"])):
            org.save_staff(conn, {"username": username, "name": name, "department": "jijianshi", "roles": roles},
                           now, password_hash=password_hash)
    return [d[0] for d in DEPARTMENTS]


@pytest.fixture
def campaign_processes(engine, shipped):
    """The bundled processes (campaign and monthly report ones), deployed as `make run` does."""


def launch_data(departments, **dates) -> dict:
    data = {"name": "医疗服务行业腐败问题专项整治", "doc_no": "虞二医党〔2021〕13号", "departments": list(departments),
            "mobilization_deadline": "2021-08-20", "selfcheck_deadline": "2021-08-31",
            "rectification_deadline": "2021-10-31", "consolidation_deadline": "2021-12-31",
            "disclosure_deadline": "2021-08-30", "report_day": 12,
            "leadership": [{"person": "shuji", "duty": "组长"}], "task_force": [{"person": "jijian", "duty": "组长"}]}
    data.update(dates)
    return data


def open_tasks(db, *, element: str | None = None, department: str | None = None, key: str | None = None) -> list:
    h = human_task.c
    q = sa.select(human_task).where(h.status == "open")
    if element:
        q = q.where(h.element_id == element)
    if department:
        q = q.where(h.candidate_department == department)
    if key:
        q = q.where(h.process_key == key)
    with db.connect() as conn:
        return [HumanTask.of(r) for r in conn.execute(q.order_by(h.created_at, h.id))]


def children(db, campaign_id: str, key: str | None = None) -> list:
    q = sa.select(process_instance).where(process_instance.c.parent_id == campaign_id)
    if key:
        q = q.where(process_instance.c.process_key == key)
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def advance(engine, clock, when: datetime) -> int:
    """Move the virtual clock and fire every timer due by then (a timer's path may arm another)."""
    clock.set(when)
    fired = 0
    while (n := engine.fire_due_timers()):
        fired += n
    engine.sweep_deadlines()
    return fired


def do(engine, db, element: str, user: str, data: dict | None = None, *, department: str | None = None,
       key: str | None = None):
    """Complete the first open task `element` (of `department`), claiming it as `user`."""
    task = open_tasks(db, element=element, department=department, key=key)[0]
    return engine.complete_task(task.id, user=user, data=data or {})


def phases(engine, campaign_id: str) -> list[str]:
    return [e["data"]["phase"] for e in engine.events(campaign_id) if e["type"] == "phase_changed"]


def department_of(engine, task: dict) -> str:
    return engine.show(task.instance_id).data["department"]


def cell(grid: dict, department: str, column: str) -> dict:
    return next(r for r in grid["rows"] if r["department"] == department)["cells"][column]


def grid_now(engine, db, campaign_id: str) -> dict:
    with db.connect() as conn:
        return campaign_matrix.matrix(conn, campaign_id, engine.clock.now())


def escalations(db, department: str) -> list:
    with db.connect() as conn:
        return conn.execute(sa.select(notification.c.task_id).where(
            notification.c.kind == "escalation", notification.c.recipient_role == "department_head",
            notification.c.recipient_department == department)).scalars().all()


CLUE_STUB = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://qinglian/test">
  <bpmn:process id="clue" name="Clue (stand-in)" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:manualTask id="handle" name="handle"><bpmn:incoming>f</bpmn:incoming><bpmn:outgoing>g</bpmn:outgoing></bpmn:manualTask>
    <bpmn:endEvent id="e"><bpmn:incoming>g</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="handle"/><bpmn:sequenceFlow id="g" sourceRef="handle" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


# --- launch ------------------------------------------------------------------------------------------

def test_a_launch_with_dates_out_of_order_or_past_or_no_department_is_refused_field_by_field(
        engine, db, clock, hospital, campaign_processes):
    clock.set(beijing("2021-08-16"))
    bad = launch_data([], mobilization_deadline="2021-08-10", selfcheck_deadline="2021-08-31",
                      rectification_deadline="2021-08-25", disclosure_deadline="2022-01-05")
    with pytest.raises(Invalid) as exc:
        engine.start("campaign", started_by="jijian", data=bad)
    fields = {p.field: p.message for p in exc.value.problems}
    assert fields["departments"] == "请至少选择一个科室"
    assert "不能早于今天" in fields["mobilization_deadline"]
    assert fields["rectification_deadline"] == "“集中整治阶段截止”须晚于“自查自纠阶段截止”"
    assert "不能晚于专项整治结束" in fields["disclosure_deadline"]
    with pytest.raises(Invalid) as exc:
        engine.start("campaign", started_by="jijian", data=launch_data(["neike", "nowhere"]))
    assert [p.field for p in exc.value.problems] == ["departments"] and "nowhere" in exc.value.problems[0].message
    with db.connect() as conn:                                  # nothing was started
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar() == 0


# --- seed 002: 绍兴市上虞第二人民医院, 2021 -------------------------------------------------------------

def test_seed_002_calendar_for_a_12_department_hospital(engine, db, clock, hospital, campaign_processes):
    clock.set(beijing("2021-08-16"))                            # 虞二医党〔2021〕13号, issued 16 August
    view = engine.start("campaign", started_by="jijian", business_key="虞二医党〔2021〕13号",
                        data=launch_data(hospital))
    cid = view.id
    assert phases(engine, cid) == ["mobilization"]
    assert len(children(db, cid, "campaign_mobilization_dept")) == 12      # one small instance per department
    meetings = open_tasks(db, element="meeting")
    assert sorted(t.candidate_department for t in meetings) == sorted(hospital)
    assert {t.due_at for t in meetings} == {end_of("2021-08-20")}       # 宣传动员阶段（8月20日前）
    reports = open_tasks(db, element="fill_report", key="campaign_monthly_report")
    assert len(reports) == 12                                   # the 12th of September is a Sunday: the 13th
    assert {t.due_at for t in reports} == {end_of("2021-09-13")}

    # 1. mobilization: the task force is set up; eleven departments meet and talk to every member of
    # staff; 财务科 holds its meeting but not its talks
    do(engine, db, "set_up_task_force", "zhuanban", {"set_up_on": "2021-08-17", "office_department": "jijianshi",
                                                      "members": [{"person": "jijian", "duty": "办公室主任"}]})
    for code in hospital:
        do(engine, db, "meeting", f"{code}_head", {"meeting_date": "2021-08-18", "attendance": 3}, department=code)
        talks = open_tasks(db, element="talk", department=code)
        assert len(talks) == 2                                  # one record per staff member but the head
        if code != "caiwuke":
            for talk in talks:
                engine.complete_task(talk.id, user=f"{code}_head", data={"talk_date": "2021-08-19"})
        # 逐级逐人: the head is talked to by a leader (none named at launch: the leadership group's)
        do(engine, db, "leader_talk", "shuji", {"talk_date": "2021-08-19"}, key="campaign_mobilization_dept")
    grid = grid_now(engine, db, cid)
    assert cell(grid, "neike", "mobilization")["state"] == "done"
    c = cell(grid, "caiwuke", "mobilization")
    assert (c["state"], c["tasks_done"], c["tasks_done"] + c["tasks_open"]) == ("progress", 2, 4)
    with pytest.raises(Invalid) as exc:                         # not every department is done
        do(engine, db, "close_mobilization", "jijian")
    assert exc.value.problems[0].message == "以下科室的宣传动员工作尚未完成：财务科"

    # the deadline passes: the phase ends; 财务科's talks stay open, overdue, and escalate
    advance(engine, clock, beijing("2021-08-21", 8))
    assert phases(engine, cid) == ["mobilization", "selfcheck"]
    talks = open_tasks(db, element="talk", department="caiwuke")
    assert sorted(t.name for t in talks) == ["一对一谈心谈话：财务科职工1", "一对一谈心谈话：财务科职工2"]
    assert len(escalations(db, "caiwuke")) == 2
    assert cell(grid_now(engine, db, cid), "caiwuke", "mobilization")["state"] == "overdue"
    assert len(open_tasks(db, element="risk_list")) == 12 and \
        {t.due_at for t in open_tasks(db, element="risk_list")} == {end_of("2021-08-31")}

    # 2. self-inspection: risk lists graded 一级/二级/三级; 内科's is returned with comments once
    for code in hospital:
        do(engine, db, "risk_list", f"{code}_head", {"risks": [
            {"post": "药品耗材采购", "description": "收受回扣", "grade": "一级", "measure": "双人验收、定期轮岗",
             "owner": f"{code}_head"}]}, department=code)
    for task in open_tasks(db, element="review", key="campaign_selfcheck_dept"):
        returned = department_of(engine, task) == "neike"
        engine.complete_task(task.id, user="jijian", data={"accepted": not returned,
                                                              "review_comment": "请补充处方环节的风险" if returned else None})
    [again] = open_tasks(db, element="risk_list")
    assert again.candidate_department == "neike"
    engine.complete_task(again.id, user="neike_head", data={"risks": [
        {"post": "处方", "description": "大处方", "grade": "二级", "measure": "处方点评", "owner": "neike_1"}]})
    do(engine, db, "review", "jijian", {"accepted": True}, key="campaign_selfcheck_dept")

    # voluntary disclosures: one on 29 August (on time), one on 31 August (late, whatever is typed)
    advance(engine, clock, beijing("2021-08-29", 10))
    on_time = engine.start("campaign_disclosure", started_by="neike_1", data={
        "issues": [{"summary": "收受患者红包", "detail": "2021年5月"}], "money": "0.50", "goods_count": None})
    advance(engine, clock, beijing("2021-08-31", 10))
    late = engine.start("campaign_disclosure", started_by="waike_2", data={
        "issues": [{"summary": "接受医药代表宴请", "detail": None}], "money": None, "goods_count": 2, "on_time": True})
    assert on_time.data["on_time"] is True and late.data["on_time"] is False
    assert late.data["campaign"]["id"] == cid and late.data["campaign"]["department"] == "waike"
    with db.connect() as conn:
        assert permissions.can_view_instance(conn, principal(conn, "jijian"), late.id)
        assert not permissions.can_view_instance(conn, principal(conn, "waike_head"), late.id)
        assert not permissions.can_view_instance(conn, principal(conn, "neike_1"), late.id)

    # the clue backlog review (起底) links clue instances; an unknown clue is refused on its row
    engine.deploy([SourceFile("clue_stub.bpmn", CLUE_STUB)], deployed_by="admin")
    clue = engine.start("clue", started_by="jijian", business_key="XS-2021-007")
    backlog = {"summary": "十九大以来线索全部起底", "clues": [{"clue_ref": "XS-2021-999", "conclusion": "continue"}]}
    with pytest.raises(Invalid) as exc:
        do(engine, db, "clue_backlog", "jijian", backlog)
    assert exc.value.problems[0].field == "clues[0].clue_ref"
    backlog["clues"] = [{"clue_ref": "XS-2021-007", "conclusion": "look_back", "note": "谈话函询了结，回头看"}]
    do(engine, db, "clue_backlog", "jijian", backlog)
    with db.connect() as conn:
        [reviewed] = campaign_matrix.milestones(conn, cid, "clue_backlog")
    assert reviewed["clues"] == [{"clue_ref": "XS-2021-007", "instance_id": clue.id, "conclusion": "look_back"}]

    do(engine, db, "close_selfcheck", "jijian", {"note": "各科室自查自纠完成"})   # every department is done
    assert phases(engine, cid)[-1] == "rectification"

    # 3. rectification (September–October): an inspection; each finding becomes an issue item
    advance(engine, clock, beijing("2021-09-15", 10))
    do(engine, db, "inspect", "jijian", {
        "inspected_on": "2021-09-15", "plan": "联合检查临床科室", "more_inspections": False,
        "findings": [{"department": "neike", "problem": "处方点评未开展", "measure": "每月开展处方点评", "deadline_days": 10},
                     {"department": "waike", "problem": "高值耗材使用无登记", "measure": "建立使用登记", "deadline_days": 5}],
        "reminder_talks": [{"department": "caiwuke", "person": "caiwuke_head", "content": "谈心谈话滞后"}]})
    assert len(children(db, cid, "campaign_issue_item")) == 2
    [rectify] = open_tasks(db, element="rectify", department="waike")
    assert rectify.due_at == engine.deadlines.calendar().add_working_days(beijing("2021-09-15", 10), 5).due
    do(engine, db, "rectify", "neike_head", {"done": "已开展处方点评", "evidence": ["1"], "completed_on": "2021-09-20"},
       department="neike")
    do(engine, db, "verify", "jijian", {"verdict": "close"}, key="campaign_issue_item")
    advance(engine, clock, rectify.due_at + timedelta(days=2))        # 外科's item is overdue: escalated
    [rectify] = open_tasks(db, element="rectify", department="waike")
    assert rectify.escalation_level >= 1 and rectify.id in escalations(db, "waike")
    with pytest.raises(Invalid) as exc:
        do(engine, db, "close_rectification", "jijian")
    assert "外科" in exc.value.problems[0].message
    grid = grid_now(engine, db, cid)
    assert cell(grid, "neike", "rectification")["state"] == "done"
    assert cell(grid, "waike", "rectification")["state"] == "overdue"
    assert cell(grid, "erke", "rectification")["state"] == "none"

    # 4. consolidation (November–December), entered on 31 October's deadline
    advance(engine, clock, beijing("2021-11-01", 8))
    assert phases(engine, cid)[-1] == "consolidation"
    for code in hospital:
        do(engine, db, "reform", f"{code}_head", {"lessons": "查摆管理漏洞", "rules": [
            {"title": f"{code}廉洁从业管理办法", "kind": "new", "issued_on": "2021-11-20"}]}, department=code)
    do(engine, db, "apply_results", "jijian", {"assessments": [
        {"department": "waike", "result": "fail", "veto": True, "note": "问题整改逾期"}]})
    summary = do(engine, db, "evaluate", "jijian", {"achievements": "完成全院风险排查"})
    stats = summary.data["statistics"]
    assert stats["rules_improved"] == 12 and stats["reminder_talks"] == 1
    assert stats["issues"] == {"total": 2, "closed_out": 1}
    assert stats["departments"] == {"administrative": 3, "clinical": 6, "medical_technical": 3, "total": 12}
    assert stats["disclosures"] == {"people": 2, "issues": 2, "money": "0.50", "goods": 2, "on_time": 1, "late": 1}
    do(engine, db, "final_report", "shuji", {"reported_on": "2021-12-25", "reported_to": "区纪委区监委",
                                             "filled_by": "jijian", "reviewed_by": "shuji"})
    advance(engine, clock, beijing("2021-11-15"))
    advance(engine, clock, beijing("2021-12-20"))
    do(engine, db, "close_consolidation", "jijian")
    assert phases(engine, cid) == ["mobilization", "selfcheck", "rectification", "consolidation", "ended"]
    rounds = sorted({r.due_at for r in open_tasks(db, element="fill_report", key="campaign_monthly_report")})
    assert rounds == [end_of("2021-09-13"), end_of("2021-10-12"), end_of("2021-11-12"), end_of("2021-12-13")]
    assert engine.show(cid).status == "completed"
    # unfinished department work was never cancelled: it is still open, and overdue
    assert len(open_tasks(db, element="talk", department="caiwuke")) == 2
    assert len(open_tasks(db, element="rectify", department="waike")) == 1
    with db.connect() as conn:
        line = campaign_matrix.timeline(conn, cid, engine.clock.now())
    mobilization = next(s for s in line["series"] if s["phase"] == "mobilization")
    assert line["days"][0] == "2021-08-16" and mobilization["data"][-1] == round(100 * 11 / 12, 1)
    # an auditor can replay the whole campaign from its recorded inputs, and one department's work
    from engine.runtime import replay
    result = replay.replay(engine, cid)
    assert result.ok, result.divergence
    talks = open_tasks(db, element="talk", department="caiwuke")[0].instance_id
    result = replay.replay(engine, talks)          # reminded and escalated while overdue
    assert result.ok, result.divergence


# --- seed 004: 宝鸡市口腔医院, 2023 -------------------------------------------------------------------

def test_seed_004_march_to_december_with_reports_by_the_20th(engine, db, clock, hospital, campaign_processes):
    clock.set(beijing("2023-03-01"))
    view = engine.start("campaign", started_by="jijian", business_key="宝口医发〔2023〕36号", data=launch_data(
        ["yiwuke", "yaojike", "jianyanke"], name="2023年医疗领域群众身边腐败和作风问题专项整治",
        doc_no="宝口医发〔2023〕36号", mobilization_deadline="2023-03-31", selfcheck_deadline="2023-06-30",
        rectification_deadline="2023-10-31", consolidation_deadline="2023-12-31",
        disclosure_deadline="2023-06-30", report_day=20))
    cid = view.id
    seen = []
    for month in range(3, 13):
        seen.append(open_tasks(db, element="fill_report", key="campaign_monthly_report")[-1].due_at)
        advance(engine, clock, beijing(f"2023-{month:02d}-25"))
    # each month by the 20th, moved to the next working day: 20 May and 20 August 2023 are weekends
    assert seen == [end_of(d) for d in ("2023-03-20", "2023-04-20", "2023-05-22", "2023-06-20", "2023-07-20",
                                        "2023-08-21", "2023-09-20", "2023-10-20", "2023-11-20", "2023-12-20")]
    assert len(children(db, cid, "campaign_monthly_report")) == 30         # 10 months × 3 departments
    assert phases(engine, cid) == ["mobilization", "selfcheck", "rectification", "consolidation"]
    # each phase ended on its deadline, 24:00 Beijing: self-inspection by the end of June
    fired = {e["element_id"]: e["data"]["due_at"] for e in engine.events(cid)
             if e["type"] == "timer_fired" and e["element_id"].startswith("deadline_")}
    assert fired == {"deadline_mobilization": end_of("2023-03-31").isoformat(),
                     "deadline_selfcheck": end_of("2023-06-30").isoformat(),
                     "deadline_rectification": end_of("2023-10-31").isoformat()}
    assert {t.due_at for t in open_tasks(db, element="risk_list")} == {end_of("2023-06-30")}


def test_months_a_stopped_server_slept_through_still_get_their_reports(engine, db, clock, hospital,
                                                                       campaign_processes):
    from engine.runtime import replay
    clock.set(beijing("2023-03-01"))
    cid = engine.start("campaign", started_by="jijian", data=launch_data(
        ["yiwuke", "yaojike"], mobilization_deadline="2023-03-31", selfcheck_deadline="2023-06-30",
        rectification_deadline="2023-10-31", consolidation_deadline="2023-12-31",
        disclosure_deadline="2023-06-30", report_day=20)).id
    # the server is down from early March until 25 June: the April and May report days pass unseen
    advance(engine, clock, beijing("2023-06-25"))
    rounds = sorted({r.due_at for r in open_tasks(db, element="fill_report", key="campaign_monthly_report")})
    assert rounds == [end_of(d) for d in ("2023-03-20", "2023-04-20", "2023-05-22", "2023-06-20", "2023-07-20")]
    assert len(children(db, cid, "campaign_monthly_report")) == 10         # 5 rounds × 2 departments
    assert replay.replay(engine, cid).ok


def test_a_department_is_marked_overdue_only_for_its_own_late_work(engine, db, clock, hospital, campaign_processes):
    """Issue 25 item 10: 内科 sent its September report on time; the office's check of it (5 working
    days) ran late. The office is late, not 内科: its monthly cell is in progress, not overdue."""
    clock.set(beijing("2021-08-16"))
    cid = engine.start("campaign", started_by="jijian", business_key="虞二医党〔2021〕13号",
                       data=launch_data(hospital)).id
    advance(engine, clock, beijing("2021-09-10"))
    do(engine, db, "fill_report", hospital[0] + "_head", {"month": "2021-09", "progress": "按计划推进"},
       department=hospital[0], key="campaign_monthly_report")
    advance(engine, clock, beijing("2021-09-30"))                   # the check was due on the 17th
    assert any(t.element_id == "review_report" and t.due_at < clock.now()
               for t in open_tasks(db, element="review_report"))
    grid = grid_now(engine, db, cid)
    assert cell(grid, hospital[0], "monthly")["state"] == "progress"
    assert cell(grid, hospital[1], "monthly")["state"] == "overdue"  # its own report is late
