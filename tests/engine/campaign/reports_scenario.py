"""A campaign and its clues, played through the engine on the virtual clock, for the report tests.

Departments of the three categories (内科, 外科 clinical; 检验科 medical-technical; 财务科
administrative), heads (middle managers) and other staff, party members and not; a campaign launched
on Monday 2026-09-28 (START) with three campaign items; disclosures on time and late; clues through
each route (谈话函询, 初步核实, 予以了结, 移交) and outcome (four forms, administrative penalty, none).
Dates below are Beijing days; `beijing(day, hour)` is that moment.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
import sqlalchemy as sa

from engine import config, bootstrap as services
from engine.clues import intake as clues_intake
from engine.clues.confidential import ReporterVault
from engine.org import people as org
from engine.db.transactions import write_transaction
from engine.db.schema import human_task
from engine.deadlines.workdays import BEIJING
from engine.runtime.views import HumanTask
from tests.helpers.clues import meeting
from tests.helpers.snapshots import SNAPSHOTS

ITEM_A = "重点岗位权力运行方面的问题"
ITEM_B = "医疗服务方面群众反映强烈的问题"
ITEM_C = "与医药企业（代表）不正当接触交往问题"
DOC_NO = "清廉〔2026〕9号"
SCOPE = ["neike", "waike", "jianyanke", "caiwuke"]


def beijing(day: str, hour: int = 10) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=BEIJING).astimezone(timezone.utc)


@dataclass
class Scenario:
    campaign: str
    clues: dict          # K1..K8 -> clue instance id
    disclosures: dict    # username -> disclosure instance id


def add_people(db, clock, password_hash) -> None:
    """On top of the `people` fixture: 检验科 and 财务科 with heads and staff, the office's head, a leader."""
    now = clock.now()
    with write_transaction(db) as conn:
        org.save_department(conn, {"code": "jianyanke", "name_zh": "检验科", "category": "medical_technical"}, now)
        org.save_department(conn, {"code": "caiwuke", "name_zh": "财务科", "category": "administrative"}, now)
        for username, name, dept, roles, level, party in (
                ("jy_head", "钱主任", "jianyanke", ["staff", "department_head"], "middle_manager", True),
                ("jy_1", "孙技师", "jianyanke", ["staff"], "other", True),
                ("jy_2", "李技师", "jianyanke", ["staff"], "other", False),
                ("cw_head", "周科长", "caiwuke", ["staff", "department_head"], "middle_manager", True),
                ("cw_1", "吴会计", "caiwuke", ["staff"], "other", False),
                ("jj_head", "郑主任", "jijian", ["staff", "discipline_office", "department_head"], "middle_manager", True),
                ("leader", "冯书记", "xinxi", ["staff", "leadership_group"], "middle_manager", True)):
            org.save_staff(conn, {"username": username, "name": name, "department": dept, "roles": roles,
                                  "position_level": level, "party_member": party}, now, password_hash=password_hash)
        for code, name, category, head in (("jianyanke", "检验科", "medical_technical", "jy_head"),
                                           ("caiwuke", "财务科", "administrative", "cw_head"),
                                           ("jijian", "纪检监察室", "administrative", "jj_head")):
            org.save_department(conn, {"code": code, "name_zh": name, "category": category, "head": head}, now)


class Player:
    def __init__(self, engine, vault):
        self.engine, self.vault = engine, vault

    def at(self, day: str, hour: int = 10) -> None:
        """Move the clock (forward only) and fire what fell due."""
        self.engine.clock.set(beijing(day, hour))
        while self.engine.fire_due_timers():
            pass
        self.engine.sweep_deadlines()

    def task(self, element: str, department: str | None = None) -> dict:
        h = human_task.c
        q = sa.select(human_task).where(h.status == "open", h.element_id == element)
        if department:
            q = q.where(h.candidate_department == department)
        with self.engine.db.connect() as conn:
            return dict(conn.execute(q.order_by(h.created_at, h.id)).mappings().first())

    def do(self, element: str, user: str, department: str | None = None, **data):
        return self.engine.complete_task(self.task(element, department)["id"], user=user, data=data)

    def register(self, received_on: str, person: str, dept: str, position: str, level: str, party: bool,
                 source: str, summary: str, real_name: bool = False) -> str:
        fields = {"person_name": person, "person_position": position, "person_department": dept,
                  "position_level": level, "party_member": party, "summary": summary, "source": source,
                  "channel": "letter", "received_on": received_on, "real_name": real_name}
        reporter = ("实名举报人", "13900001111") if real_name else (None, None)
        return clues_intake.register(self.engine, self.vault, fields, started_by="jijian", reporter_name=reporter[0],
                                     reporter_contact=reporter[1]).instance_id

    def clue(self, iid: str, element: str, user: str = "jijian", **data):
        [task] = [t for t in self.engine.show(iid).tasks if t.element_id == element]
        return self.engine.complete_task(task.id, user=user, data=data)

    def triage(self, iid: str, disposal: str, leader: bool = False):
        self.clue(iid, "triage", disposal=disposal, opinion="研判意见", **meeting())
        self.clue(iid, "approve_office", "jj_head", office_approved=True, office_comment=None)
        if leader:
            self.clue(iid, "approve_leader", "leader", leader_approved=True, leader_comment=None)

    def verify(self, iid: str, leader: bool = False):
        self.triage(iid, "verify", leader)
        self.clue(iid, "verify_plan", verify_plan="调取记录", verify_team="陈纪检")
        self.clue(iid, "approve_plan", "jj_head", plan_approved=True, plan_comment=None)
        self.clue(iid, "gather_evidence", evidence=[{"item": "记录", "finding": "属实", "done_on": None}],
                  evidence_files=[])
        self.clue(iid, "verify_report", verify_conclusion="substantiated", verify_report="反映属实", report_files=[])

    def outcome(self, iid: str, form: str, item: str | None, *, measure=None, penalty=None, publicized=False,
                rules=0, campaign=None):
        self.clue(iid, "outcome", discipline_form=form, measure=measure, admin_penalty=penalty,
                  publicized=publicized, rules_improved=rules, campaign=campaign, campaign_item=item)

    def notify(self, iid: str, kind: str):
        prefix = "accept" if kind == "acceptance_notice" else "result"
        self.clue(iid, kind, **{f"{prefix}_notified_on": self.engine.clock.now().astimezone(BEIJING).date().isoformat(),
                                f"{prefix}_method": "phone", f"{prefix}_feedback": "已告知"})

    def disclose(self, user: str, issues: int, money=None, goods=None) -> str:
        return self.engine.start("campaign_disclosure", started_by=user, data={
            "issues": [{"summary": f"问题{i + 1}", "detail": None} for i in range(issues)],
            "money": money, "goods_count": goods}).id

    def talks(self, department: str, user: str):
        for t in self._open("talk", department):
            self.engine.complete_task(t.id, user=user, data={"talk_date": "2026-09-29"})

    def leader_talk(self, department: str, user: str, day: str):
        """逐级谈话: the leader talks to the department's head (the talk names no department: its instance does)."""
        h = human_task.c
        with self.engine.db.connect() as conn:
            tasks = [dict(r) for r in conn.execute(sa.select(human_task).where(
                h.status == "open", h.element_id == "leader_talk")).mappings()]
        [task] = [t for t in tasks if self.engine.show(t["instance_id"]).data.get("department") == department]
        self.engine.complete_task(task["id"], user=user, data={"talk_date": day})

    def _open(self, element, department):
        h = human_task.c
        with self.engine.db.connect() as conn:
            return [HumanTask.of(r) for r in conn.execute(sa.select(human_task).where(
                h.status == "open", h.element_id == element, h.candidate_department == department))]


def play(engine, vault) -> Scenario:
    """The whole story, in the order it happened; see the comments for what each report must show."""
    services.deploy_directory(engine, config.PROJECT_ROOT / "processes", deployed_by="admin")
    p = Player(engine, vault)
    p.at("2026-09-28", 9)
    cid = engine.start("campaign", started_by="jijian", business_key=DOC_NO, data={
        "name": "廉洁医院建设专项整治", "doc_no": DOC_NO, "departments": SCOPE,
        "mobilization_deadline": "2026-10-16", "selfcheck_deadline": "2026-10-30",
        "rectification_deadline": "2026-11-30", "consolidation_deadline": "2026-12-31",
        "disclosure_deadline": "2026-10-23", "report_day": 12,
        "leadership": [{"person": "leader", "duty": "组长"}], "task_force": [{"person": "jijian", "duty": "组长"}],
        "focus_areas": [{"area": ITEM_A}, {"area": ITEM_B}, {"area": ITEM_C}]}).id
    k = {}
    # K1: 内科 head (中层, party member), real-name petition — talk, closed with the 1st form, item A, 1 rule
    k["K1"] = p.register("2026-09-28", "张主任", "neike", "内科主任", "middle_manager", True, "petition",
                         "反映张主任收受医药代表礼品", real_name=True)
    # K7: received before the campaign, but its outcome names the campaign (文号): 4th form, item C
    k["K7"] = p.register("2026-09-10", "钱主任", "jianyanke", "检验科主任", "middle_manager", True, "assigned",
                         "上级交办：钱主任与试剂供应商往来")
    # K8: received before the campaign and never linked to it: not in its reports
    k["K8"] = p.register("2026-09-01", "某职工", "xinxi", None, "other", False, "self_found", "信息科旧线索")
    p.at("2026-09-29")
    p.do("meeting", "neike_head", "neike", meeting_date="2026-09-29", attendance=3)
    p.talks("neike", "neike_head")
    p.leader_talk("neike", "leader", "2026-09-29")
    # K2: 外科 surgeon (其他, party member), accusation — verified; its outcome (2nd form) after 31 October
    k["K2"] = p.register("2026-09-29", "赵医生", "waike", "外科医生", "other", True, "accusation", "反映赵医生收受红包")
    # K3: 检验科 technician (其他, not a party member), audit — verified: administrative penalty, item B
    k["K3"] = p.register("2026-09-29", "李技师", "jianyanke", "检验技师", "other", False, "audit", "审计发现违规收费")
    # K4: 财务科 head (中层), real-name inspection finding — closed (予以了结), no outcome
    k["K4"] = p.register("2026-09-29", "周科长", "caiwuke", "财务科科长", "middle_manager", True, "inspection",
                         "巡察反映报销不规范", real_name=True)
    # K5: 内科 nurse, found by the office — transferred
    k["K5"] = p.register("2026-09-29", "李护士", "neike", "护士", "other", True, "self_found", "涉嫌违法，需移交")

    p.at("2026-10-09")
    p.do("fill_report", "neike_head", "neike", month="2026-10", progress="完成动员和谈心谈话")
    p.notify(k["K1"], "acceptance_notice")
    p.triage(k["K1"], "talk_inquiry", leader=True)
    p.clue(k["K1"], "inquiry", inquiry_method="talk", talk_record="谈话记录", letter_sent_on=None, inquiry_files=[])
    p.clue(k["K1"], "evaluate", evaluation="close", evaluation_note="说明清楚")
    p.outcome(k["K1"], "first", ITEM_A, measure="谈话提醒", rules=1)
    p.notify(k["K1"], "result_notice")
    p.notify(k["K4"], "acceptance_notice")
    p.triage(k["K4"], "close", leader=True)
    p.notify(k["K4"], "result_notice")
    p.triage(k["K5"], "transfer")
    p.clue(k["K5"], "transfer", receiving_authority="区监委", transferred_on="2026-10-09", transfer_record="移交材料")
    p.clue(k["K5"], "transfer_receipt", receipt_on="2026-10-09", receipt_note=None, receipt_files=[])

    p.at("2026-10-10")                                          # a working Saturday (调休)
    p.do("meeting", "waike_head", "waike", meeting_date="2026-10-10", attendance=2)
    p.at("2026-10-12")
    p.do("meeting", "cw_head", "caiwuke", meeting_date="2026-10-12", attendance=2)
    p.do("fill_report", "cw_head", "caiwuke", month="2026-10", progress="召开动员会")
    p.at("2026-10-14")
    p.do("fill_report", "waike_head", "waike", month="2026-10", progress="召开动员会")      # due 12 Oct: late
    p.at("2026-10-15")
    p.do("talk", "cw_head", "caiwuke", talk_date="2026-10-15")
    p.leader_talk("caiwuke", "leader", "2026-10-15")

    p.at("2026-10-20")                                          # self-inspection since 17 October
    p.do("risk_list", "neike_head", "neike", risks=[
        {"post": "处方", "description": "大处方", "grade": "二级", "measure": "处方点评", "owner": "neike_head"}])
    d = {"nurse": p.disclose("nurse", 2, money="0.50")}          # on time (deadline 23 October)
    p.verify(k["K3"])
    p.outcome(k["K3"], "none", ITEM_B, penalty="记过", publicized=True, rules=2)
    p.at("2026-10-22")
    d["nurse2"] = p.disclose("nurse2", 1, goods=3)
    p.at("2026-10-26")
    d["surgeon"] = p.disclose("surgeon", 1, money="1.20")          # late
    p.at("2026-10-29")
    p.do("risk_list", "cw_head", "caiwuke", risks=[
        {"post": "报销", "description": "审核不严", "grade": "三级", "measure": "双人审核", "owner": "cw_head"}])
    p.verify(k["K7"], leader=True)
    p.outcome(k["K7"], "fourth", ITEM_C, measure="立案审查", publicized=True, campaign=DOC_NO)

    p.at("2026-11-02")                                          # rectification since 31 October
    p.verify(k["K2"])
    p.outcome(k["K2"], "second", ITEM_B, measure="党内警告")
    # K6: received after 31 October, real-name, not yet told anything
    k["K6"] = p.register("2026-11-02", "王护士", "neike", "护士", "other", True, "petition", "反映王护士态度问题",
                         real_name=True)
    p.at("2026-11-05")
    p.do("risk_list", "waike_head", "waike", risks=[
        {"post": "耗材", "description": "登记缺失", "grade": "一级", "measure": "使用登记", "owner": "waike_head"}])
    d["jy_1"] = p.disclose("jy_1", 1, goods=1)
    p.at("2026-11-10")
    p.do("fill_report", "neike_head", "neike", month="2026-11", progress="整改推进")
    p.at("2026-12-05")                                          # consolidation since 1 December
    p.do("reform", "neike_head", "neike", lessons="查摆漏洞", rules=[
        {"title": "处方点评制度", "kind": "new", "issued_on": "2026-12-04"},
        {"title": "药品耗材管理办法", "kind": "amended", "issued_on": "2026-12-04"}])
    p.do("reform", "jy_head", "jianyanke", lessons="查摆漏洞", rules=[
        {"title": "试剂采购规程", "kind": "new", "issued_on": "2026-12-04"}])
    p.at("2026-12-10")
    return Scenario(cid, k, d)


# One reporters' key per test process: the scenario's snapshot holds identities sealed with it.
VAULT = ReporterVault(Fernet.generate_key())


@pytest.fixture
def vault() -> ReporterVault:
    return VAULT


@pytest.fixture
def scenario(engine, people, db, clock, password_hash, vault) -> Scenario:
    """The campaign played to 10 December: once per test process, dialect and vault, then restored
    (tests/helpers/snapshots.py)."""
    def played() -> Scenario:
        add_people(db, clock, password_hash)
        return play(engine, vault)
    return SNAPSHOTS.once(("reports scenario", vault), db, played, clock=engine.clock, ids=engine.ids)


def days_after(day: str, n: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=n)).isoformat()
