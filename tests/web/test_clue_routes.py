"""Clue handling (问题线索处置) run by the engine from processes/clue.bpmn, rule by rule, and each
disposal route to its end. The clock is fixed: START is Monday 2026-09-28 09:00 in Beijing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from engine.clues import intake as clues_intake, ledger as clues_ledger
from engine.org import people as org
from engine.clues.confidential import ReporterVault
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid
from engine.db.schema import notification
from engine.deadlines.workdays import BEIJING
from tests.helpers.clues import meeting

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

RECEIVED = "2026-09-28"


def end_of(day: str) -> datetime:
    """24:00 Beijing at the end of `day`, in UTC (the deadline convention)."""
    d = datetime.fromisoformat(day) + timedelta(days=1)
    return d.replace(tzinfo=BEIJING).astimezone(timezone.utc)


# --- fixtures shared by the clue tests --------------------------------------------------------------

@pytest.fixture
def vault():
    return ReporterVault(Fernet.generate_key())


@pytest.fixture
def office(people, db, clock, password_hash):
    """The test organisation plus the office's head (jj_head) and a leadership-group member (leader)."""
    now = clock.now()
    with write_transaction(db) as conn:
        org.save_staff(conn, {"username": "jj_head", "name": "钱主任", "department": "jijian",
                              "roles": ["staff", "discipline_office", "department_head"]}, now,
                       password_hash=password_hash)
        org.save_staff(conn, {"username": "leader", "name": "郑书记", "department": "xinxi",
                              "roles": ["staff", "leadership_group"]}, now, password_hash=password_hash)
        org.save_department(conn, {"code": "jijian", "name_zh": "纪检监察室", "category": "administrative",
                                   "head": "jj_head"}, now)
    return people


@pytest.fixture
def clues(engine, office, vault, shipped):
    """The bundled processes deployed; `clues.register(**fields)` registers a clue as the office."""

    class Helper:
        def register(self, *, reporter=("张三", "13900001111"), **over):
            fields = {"person_name": "刘某", "person_position": "医生", "person_department": "neike",
                      "position_level": "other", "party_member": True, "summary": "反映刘某收受患者红包。",
                      "source": "petition", "channel": "letter", "received_on": RECEIVED, "real_name": True}
            fields.update(over)
            name, contact = reporter if fields["real_name"] else (None, None)
            return clues_intake.register(engine, vault, fields, started_by="jijian", reporter_name=name,
                                         reporter_contact=contact)

        def tasks(self, iid):
            return {t.element_id: t for t in engine.show(iid).tasks}

        def do(self, iid, element, user=None, **data):
            task = self.tasks(iid)[element]
            user = user or ("jj_head" if element in ("approve_office", "approve_plan") else
                            "leader" if element == "approve_leader" else "jijian")
            return engine.complete_task(task.id, user=user, data=data)

        def triage(self, iid, disposal, opinion="研判意见"):
            self.do(iid, "triage", disposal=disposal, opinion=opinion, **meeting())
            self.do(iid, "approve_office", office_approved=True, office_comment=None)

        def notify(self, iid, kind, text):
            prefix = "accept" if kind == "acceptance_notice" else "result"
            self.do(iid, kind, **{f"{prefix}_notified_on": "2026-10-09", f"{prefix}_method": "phone",
                                  f"{prefix}_feedback": text})

        def row(self, iid):
            with read_transaction(engine.db) as conn:
                [row] = clues_ledger.clue_rows(conn, engine.clock.now(), instance_ids=[iid])
            return row

    return Helper()


# --- the rules -------------------------------------------------------------------------------------

def test_a_real_name_clue_received_on_28_september_gets_its_acceptance_notice_due_across_national_day(clues):
    reg = clues.register()
    tasks = clues.tasks(reg.instance_id)
    assert set(tasks) == {"triage", "acceptance_notice"}
    # 09-29, 09-30, (国庆 10-01..07), 10-08, 10-09, Saturday 10-10 (调休), 10-12..16, 10-19..23
    assert tasks["acceptance_notice"].due_at == end_of("2026-10-23")
    # the disposal opinion is due one month after receipt
    assert tasks["triage"].due_at == end_of("2026-10-28")
    assert tasks["triage"].candidate_role == "discipline_office"
    assert tasks["triage"].candidate_department == "jijian"


def test_an_anonymous_clue_has_no_notice_to_give(clues):
    reg = clues.register(real_name=False)
    assert set(clues.tasks(reg.instance_id)) == {"triage"}
    assert clues.row(reg.instance_id)["feedback"]["state"] == "none"


def test_triage_overdue_after_one_month_escalates_to_the_office_head(clues, engine, clock, db):
    reg = clues.register(real_name=False)
    clock.set(end_of("2026-10-28") - timedelta(seconds=1))
    engine.sweep_deadlines()
    with db.connect() as conn:
        kinds = [(r.kind, r.recipient_role, r.recipient_department) for r in conn.execute(
            sa.select(notification).order_by(notification.c.id))]
    assert ("escalation", "department_head", "jijian") not in kinds      # before 24:00 of the due day: in time
    clock.set(end_of("2026-10-28") + timedelta(seconds=1))
    engine.sweep_deadlines()
    with db.connect() as conn:
        kinds = [(r.kind, r.recipient_role, r.recipient_department) for r in conn.execute(
            sa.select(notification).order_by(notification.c.id))]
    assert kinds[-1] == ("escalation", "department_head", "jijian")
    row = clues.row(reg.instance_id)
    assert row["overdue"] == ["分析研判"] and row["days_open"] == 31


def test_close_route_runs_to_its_end_and_the_real_name_reporter_is_told_both_times(clues, engine):
    reg = clues.register()
    clues.notify(reg.instance_id, "acceptance_notice", "您的举报已受理。")
    clues.triage(reg.instance_id, "close", "经了解，所反映问题不属实。")
    assert clues.row(reg.instance_id)["feedback"]["state"] == "result_due"
    assert set(clues.tasks(reg.instance_id)) == {"result_notice"}
    clues.notify(reg.instance_id, "result_notice", "经核查，反映问题不属实，予以了结。")
    view = engine.show(reg.instance_id)
    assert view.status == "completed"
    row = clues.row(reg.instance_id)
    assert row["status"] == "closed" and row["stage"] == "已办结" and row["feedback"]["state"] == "told"
    assert row["result"] == "予以了结；了结理由：经了解，所反映问题不属实。"


def test_a_rejected_opinion_goes_back_to_triage_and_a_middle_manager_needs_the_leadership_group(clues, engine):
    reg = clues.register(real_name=False, position_level="middle_manager")
    clues.do(reg.instance_id, "triage", disposal="transfer", opinion="涉嫌违法，拟移交。", **meeting())
    clues.do(reg.instance_id, "approve_office", office_approved=False, office_comment="证据不足，请重新研判")
    assert set(clues.tasks(reg.instance_id)) == {"triage"}
    clues.triage(reg.instance_id, "transfer", "涉嫌违法，移交区监委。")
    assert set(clues.tasks(reg.instance_id)) == {"approve_leader"}
    [decided] = [e for e in engine.events(reg.instance_id) if e["type"] == "decision_evaluated"]   # the DMN table
    assert decided["data"]["decision"] == "disposal_approver v1" and decided["element_id"] == "decide_approver"
    assert decided["data"]["output"] == {"needs_leader_approval": True}
    clues.do(reg.instance_id, "approve_leader", leader_approved=True, leader_comment=None)
    assert set(clues.tasks(reg.instance_id)) == {"transfer"}


def test_transfer_route_ends_with_the_receiving_authoritys_receipt(clues, engine):
    reg = clues.register(real_name=False)
    clues.triage(reg.instance_id, "transfer")
    clues.do(reg.instance_id, "transfer", receiving_authority="区监委", transferred_on="2026-09-29",
             transfer_record="移交材料 3 份")
    assert set(clues.tasks(reg.instance_id)) == {"transfer_receipt"}
    clues.do(reg.instance_id, "transfer_receipt", receipt_on="2026-09-30", receipt_note=None, receipt_files=[])
    assert engine.show(reg.instance_id).status == "completed"
    assert "移交区监委（已回执）" in clues.row(reg.instance_id)["result"]


def _letter(clues, iid, sent_on="2026-09-28"):
    clues.triage(iid, "talk_inquiry")
    clues.do(iid, "inquiry", inquiry_method="letter", talk_record=None, letter_sent_on=sent_on, inquiry_files=[])


def test_the_written_reply_is_due_15_working_days_after_the_letter_and_a_reply_on_the_16th_is_late(clues, clock):
    reg = clues.register(real_name=False)
    _letter(clues, reg.instance_id)
    reply = clues.tasks(reg.instance_id)["inquiry_reply"]
    assert reply.due_at == end_of("2026-10-23")
    clock.set(end_of("2026-10-26"))
    clues.do(reg.instance_id, "inquiry_reply", reply_received_on="2026-10-26", reply_summary="书面说明", reply_files=[])
    row = clues.row(reg.instance_id)
    assert row["reply_late"] is True and "逾期回复" in row["result"]


def test_a_reply_on_the_15th_working_day_is_in_time_and_the_inquiry_route_ends_with_an_outcome(clues, clock, engine):
    reg = clues.register(real_name=False)
    _letter(clues, reg.instance_id)
    clock.set(end_of("2026-10-23") - timedelta(hours=2))
    clues.do(reg.instance_id, "inquiry_reply", reply_received_on="2026-10-23", reply_summary="书面说明", reply_files=[])
    assert clues.row(reg.instance_id)["reply_late"] is False
    clues.do(reg.instance_id, "evaluate", evaluation="close", evaluation_note="说明清楚")
    clues.do(reg.instance_id, "outcome", discipline_form="first", measure="谈话提醒", admin_penalty=None,
             publicized=False, rules_improved=1, campaign="2026 专项整治")
    assert engine.show(reg.instance_id).status == "completed"
    row = clues.row(reg.instance_id)
    assert row["result"] == "谈话函询；函询；说明清楚，予以了结；第一种形态（谈话提醒）；完善制度1项"
    assert row["campaign"] == "2026 专项整治"


def test_a_reply_cannot_be_dated_before_the_letter_was_sent(clues):
    reg = clues.register(real_name=False)
    _letter(clues, reg.instance_id, sent_on="2026-09-28")
    with pytest.raises(Invalid) as exc:
        clues.do(reg.instance_id, "inquiry_reply", reply_received_on="2026-09-27", reply_summary="x", reply_files=[])
    assert exc.value.problems[0].field == "reply_received_on"
    assert "inquiry_reply" in clues.tasks(reg.instance_id)          # nothing was applied


def test_talk_then_preliminary_verification_runs_to_its_end(clues, engine):
    reg = clues.register(real_name=False, party_member=False, public_employee=False)
    clues.triage(reg.instance_id, "talk_inquiry")
    clues.do(reg.instance_id, "inquiry", inquiry_method="talk", talk_record="谈话记录", letter_sent_on=None,
             inquiry_files=[])
    clues.do(reg.instance_id, "evaluate", evaluation="verify", evaluation_note="需进一步核实")
    clues.do(reg.instance_id, "verify_plan", verify_plan="调取处方记录", verify_team="陈纪检")
    clues.do(reg.instance_id, "approve_plan", plan_approved=False, plan_comment="补充走访患者")
    clues.do(reg.instance_id, "verify_plan", verify_plan="调取处方记录并走访患者", verify_team="陈纪检")
    clues.do(reg.instance_id, "approve_plan", plan_approved=True, plan_comment=None)
    clues.do(reg.instance_id, "gather_evidence", evidence=[{"item": "处方", "finding": "属实", "done_on": None}],
             evidence_files=[])
    clues.do(reg.instance_id, "verify_report", verify_conclusion="substantiated", verify_report="反映属实",
             report_files=[])
    with pytest.raises(Invalid):        # the four forms are for party members and public employees
        clues.do(reg.instance_id, "outcome", discipline_form="second", measure="警告", admin_penalty=None,
                 publicized=True, rules_improved=0, campaign=None)
    clues.do(reg.instance_id, "outcome", discipline_form="none", measure=None, admin_penalty="记过",
             publicized=True, rules_improved=0, campaign=None)
    assert engine.show(reg.instance_id).status == "completed"
    assert clues.row(reg.instance_id)["result"] == \
        "谈话函询；谈话；转初步核实；反映属实；不予处理；行政处罚：记过；已通报"
    from engine.runtime import replay
    result = replay.replay(engine, reg.instance_id)      # the auditor's replay reaches every recorded state
    assert result.ok, result.to_dict()


def test_a_party_member_may_also_receive_an_administrative_measure(clues, engine):
    # seed 002 附件4: a party member may also receive administrative measures (not a 行政处罚 count)
    reg = clues.register(real_name=False, party_member=True)
    clues.triage(reg.instance_id, "verify")
    clues.do(reg.instance_id, "verify_plan", verify_plan="p", verify_team="t")
    clues.do(reg.instance_id, "approve_plan", plan_approved=True, plan_comment=None)
    clues.do(reg.instance_id, "gather_evidence", evidence=[{"item": "i", "finding": "f", "done_on": None}],
             evidence_files=[])
    clues.do(reg.instance_id, "verify_report", verify_conclusion="partly", verify_report="r", report_files=[])
    clues.do(reg.instance_id, "outcome", discipline_form="first", measure="诫勉", admin_penalty="调离岗位",
             publicized=False, rules_improved=0, campaign=None)
    assert engine.show(reg.instance_id).status == "completed"
    assert "行政处罚：调离岗位" in clues.row(reg.instance_id)["result"]


def test_a_held_clue_comes_back_to_triage_at_its_review_date(clues, engine, clock):
    reg = clues.register(real_name=False)
    clues.triage(reg.instance_id, "hold", "要素不全，暂存待查")
    assert clues.tasks(reg.instance_id) == {}
    assert clues.row(reg.instance_id)["stage"] == "暂存待查"
    clock.set(end_of("2027-03-28"))                      # six months after 2026-09-28, at 24:00: not yet
    assert engine.fire_due_timers() == 0
    clock.set(end_of("2027-03-28") + timedelta(seconds=1))
    assert engine.fire_due_timers() == 1
    assert set(clues.tasks(reg.instance_id)) == {"triage"}


def test_a_handling_mode_is_a_reassignment_with_its_reason_and_shows_in_the_ledger(clues, engine):
    reg = clues.register(real_name=False)
    triage = clues.tasks(reg.instance_id)["triage"]
    engine.reassign(triage.id, user="jijian", to="jj_head", reason="提级办理：涉及科室负责人")
    row = clues.row(reg.instance_id)
    assert row["handling_modes"] == ["提级办理"]
    reassigned = [e for e in engine.events(reg.instance_id) if e["type"] == "task_reassigned"]
    assert reassigned[0]["data"]["reason"] == "提级办理：涉及科室负责人"


def test_a_closed_clue_is_reviewed_in_a_clue_review(clues, engine):
    reg = clues.register(real_name=False)
    clues.triage(reg.instance_id, "close", "不属实")
    view = engine.start("clue_review", started_by="jijian", data={
        "clue_instance_id": reg.instance_id, "office_department": "jijian"})
    [task] = view.tasks
    engine.complete_task(task.id, user="jijian", data={"review_findings": "处置恰当", "review_problem": False,
                                                          "review_follow_up": None})
    [confirm] = engine.show(view.id).tasks
    assert confirm.candidate_role == "department_head"
    done = engine.complete_task(confirm.id, user="jj_head", data={"review_confirmed": True, "review_comment": None})
    assert done.status == "completed"


def test_months_after_keeps_the_day_or_takes_the_months_last_day():
    from datetime import date
    from engine.clues.operators import add_months
    assert add_months(date(2026, 9, 28), 1) == date(2026, 10, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_a_triage_deadline_falling_in_national_day_moves_to_the_next_working_day(clues):
    # received 2026-09-07: one month later is 10-07, the last day of the National Day holiday; the
    # office has until the end of Thursday 10-08, the first working day after it
    reg = clues.register(real_name=False, received_on="2026-09-07")
    triage = clues.tasks(reg.instance_id)["triage"]
    assert triage.due_at == end_of("2026-10-08")
    assert clues.row(reg.instance_id)["received_on"] == "2026-09-07"


def test_a_triage_deadline_on_a_working_day_stays_where_it_falls(clues):
    # received on 09-28: due on Wednesday 10-28, a working day, where it stays
    reg = clues.register(real_name=False, received_on="2026-09-28")
    assert clues.tasks(reg.instance_id)["triage"].due_at == end_of("2026-10-28")
