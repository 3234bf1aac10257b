"""The clue route's safeguards over HTTP: a clue about a hospital leader goes to the higher commission
and the leadership group never sees it, anywhere; the proposer of a disposal cannot approve it; the
triage is a collective decision that needs a quorum; a clue the higher commission assigned is reported
back, and waits in the 待回复上级 list until it is."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from engine.db.transactions import write_transaction
from engine.org import accounts, people as org
from tests.helpers.clues import meeting
from tests.helpers.web import login, post
from tests.web.test_clue_confidentiality import app  # noqa: F401  (fixture)
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms

LEADERSHIP = ("director", "leader", "jw_shuji")     # the director, a member, the commission's secretary


@pytest.fixture
def leaders(office, db, clock, password_hash):
    """The hospital's director (院领导, in the leadership group) and the secretary of the hospital's
    commission, who is in the leadership group and the office."""
    now = clock.now()
    with write_transaction(db) as conn:
        org.save_staff(conn, {"username": "director", "name": "王院长", "department": "xinxi",
                              "position_level": "hospital_leader", "party_member": True,
                              "roles": ["staff", "leadership_group"]}, now, password_hash=password_hash)
        org.save_staff(conn, {"username": "jw_shuji", "name": "李书记", "department": "jijian",
                              "roles": ["staff", "leadership_group", "discipline_office"]}, now,
                       password_hash=password_hash)
        return {u: accounts.issue_token(conn, u, now)[0] for u in (*LEADERSHIP, "jijian")}


def _api(app, token, path):
    return app.test_client().get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"})


def test_a_clue_about_the_director_goes_up_and_no_leadership_group_member_sees_it_anywhere(app, clues, leaders,
                                                                                           engine):
    reg = clues.register(person_username="director", person_name="", person_department=None, position_level="other",
                         real_name=False)
    tasks = clues.tasks(reg.instance_id)
    assert set(tasks) == {"report_up"}                  # not decided here: sent to the higher commission
    row = clues.row(reg.instance_id)
    assert (row["person_name"], row["position_level"], row["disposal"]) == ("王院长", "hospital_leader", "report_up")
    task_id = tasks["report_up"].id
    for user in LEADERSHIP:
        c = app.test_client()
        login(c, user)
        assert reg.business_key not in c.get("/clues").get_data(as_text=True), user
        assert c.get(f"/clues/{reg.instance_id}").status_code == 404, user
        assert c.get(f"/tasks/{task_id}").status_code == 404, user
        assert c.get(f"/instances/{reg.instance_id}/diagram").status_code == 404, user
        inbox = c.get("/inbox?view=claimable").get_data(as_text=True)
        assert "报告上级纪委" not in inbox and reg.business_key not in inbox, user
        sheet = load_workbook(io.BytesIO(c.get("/clues/export.xlsx").data)).active
        assert all("收受患者红包" not in str(cell) for r in sheet.iter_rows(values_only=True) for cell in r), user
        assert _api(app, leaders[user], f"/tasks/{task_id}").status_code == 404, user
        assert _api(app, leaders[user], f"/instances/{reg.instance_id}").status_code in (403, 404), user
        listed = _api(app, leaders[user], "/tasks?view=claimable").get_json()
        assert task_id not in str(listed), user
        assert post(c, f"/tasks/{task_id}/claim").status_code == 404, user
    office_client = app.test_client()
    login(office_client, "jijian")
    assert "王院长" in office_client.get(f"/clues/{reg.instance_id}").get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(office_client.get("/clues/export.xlsx").data)).active
    assert any("收受患者红包" in str(cell) for r in sheet.iter_rows(values_only=True) for cell in r)
    clues.do(reg.instance_id, "report_up", sent_on="2026-09-29", sent_to="市卫生健康委纪检监察组",
             sent_what="举报信原件及登记表")
    clues.do(reg.instance_id, "report_up_receipt", up_receipt_on="2026-10-09", up_receipt_no="市纪收〔2026〕12号")
    clues.do(reg.instance_id, "report_up_result", up_result_on="2026-11-20", up_result="经核查，反映问题不属实，予以了结。")
    row = clues.row(reg.instance_id)
    assert row["status"] == "closed"
    assert "报送市卫生健康委纪检监察组" in row["result"] and "上级纪委办理结果" in row["result"]
    withheld = [e for e in engine.events(reg.instance_id) if e["type"] == "recusal_recorded"]
    assert {"person": "director", "kind": "concerned"} in [{k: e["data"][k] for k in ("person", "kind")}
                                                          for e in withheld if "person" in e["data"]]
    assert any(e["data"].get("role") == "leadership_group" for e in withheld)


def test_a_clue_about_a_leadership_group_member_who_is_not_a_hospital_leader_also_goes_up(app, clues, leaders):
    # 郑书记 (leader) sits in the leadership group without being 院领导 on the staff record
    reg = clues.register(person_username="leader", person_name="", position_level="other", real_name=False)
    assert set(clues.tasks(reg.instance_id)) == {"report_up"}
    row = clues.row(reg.instance_id)
    assert (row["person_name"], row["jurisdiction"]) == ("郑书记", "higher")
    for user in LEADERSHIP:
        c = app.test_client()
        login(c, user)
        assert c.get(f"/clues/{reg.instance_id}").status_code == 404, user
        assert reg.business_key not in c.get("/clues").get_data(as_text=True), user


def test_the_proposer_of_a_disposal_cannot_approve_it(app, clues):
    reg = clues.register(real_name=False)
    clues.do(reg.instance_id, "triage", user="jj_head", disposal="close", opinion="不属实", **meeting())
    approve = clues.tasks(reg.instance_id)["approve_office"].id
    c = app.test_client()
    login(c, "jj_head")
    resp = post(c, f"/tasks/{approve}", {"office_approved": "true", "action": "complete"}, page=f"/tasks/{approve}")
    assert resp.status_code == 403 and "职责分离" in resp.get_data(as_text=True)
    assert clues.tasks(reg.instance_id)["approve_office"].status == "open"


def test_a_triage_without_a_quorum_is_refused_on_the_participants_field_with_the_input_kept(app, clues):
    reg = clues.register(real_name=False)
    triage = clues.tasks(reg.instance_id)["triage"].id
    c = app.test_client()
    login(c, "jijian")
    resp = post(c, f"/tasks/{triage}", {"disposal": "close", "opinion": "经了解不属实，拟予了结。",
                                        "meeting_date": "2026-09-28", "participants[0].person": "jijian",
                                        "participants[0].opinion": "同意了结", "action": "complete"},
                page=f"/tasks/{triage}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "参会人员及意见：参会人员不足：集体研判须至少 3 人参加（现 1 人）" in text
    assert "经了解不属实，拟予了结。" in text
    assert set(clues.tasks(reg.instance_id)) == {"triage"}


def test_a_clue_assigned_by_the_higher_commission_waits_in_the_report_back_list_until_reported(app, clues):
    reg = clues.register(source="assigned", real_name=False, report_back_due_on="2026-11-30")
    clues.triage(reg.instance_id, "close", "经了解不属实，予以了结。")
    report_back = clues.tasks(reg.instance_id)["report_back"]
    assert report_back.due_at.isoformat().startswith("2026-11-30T16:00")      # 24:00 Beijing time of 11-30
    c = app.test_client()
    login(c, "jijian")
    assert reg.business_key in c.get("/clues?awaiting_higher=1").get_data(as_text=True)
    clues.do(reg.instance_id, "report_back", reported_back_on="2026-10-15", report_back_summary="已了结，报告结果。")
    assert reg.business_key not in c.get("/clues?awaiting_higher=1").get_data(as_text=True)
    row = clues.row(reg.instance_id)
    assert row["status"] == "closed" and "已于2026-10-15向上级纪委报告办理结果" in row["result"]


def test_the_quarterly_statistics_count_the_quarter_and_leave_out_what_the_reader_is_recused_from(app, clues,
                                                                                                  leaders):
    clues.register(source="assigned", real_name=False)
    clues.register(source="petition", real_name=False)
    clues.register(person_username="director", real_name=False)
    c = app.test_client()
    login(c, "jijian")
    page = c.get("/clues/quarterly?year=2026&quarter=3").get_data(as_text=True)
    assert "本季度受理线索</th><td>3</td>" in page.replace("\n", "")
    sheet = load_workbook(io.BytesIO(c.get("/clues/quarterly.xlsx?year=2026&quarter=3").data)).active
    values = {r[0]: r[1] for r in sheet.iter_rows(min_row=3, values_only=True) if r and r[0]}
    assert values["本季度受理线索"] == 3 and values["来源：上级纪委监委交办"] == 1
    assert values["处置方式：报告上级纪委"] == 1
    login(c := app.test_client(), "leader")
    page = c.get("/clues/quarterly?year=2026&quarter=3").get_data(as_text=True)
    assert "本季度受理线索</th><td>2</td>" in page.replace("\n", "")
    assert c.get("/clues/quarterly?year=2026&quarter=5").status_code == 422


def test_the_ledger_names_the_handler_and_the_office_s_rating_of_verifiability(app, clues, engine):
    reg = clues.register(real_name=False)
    engine.claim(clues.tasks(reg.instance_id)["triage"].id, user="jijian")
    assert clues.row(reg.instance_id)["handler"] == "jijian"
    clues.do(reg.instance_id, "triage", disposal="verify", opinion="有具体线索，拟初核。", verifiability="high", **meeting())
    row = clues.row(reg.instance_id)
    assert (row["handler"], row["verifiability_name"]) == ("jijian", "可查性较强")
    c = app.test_client()
    login(c, "jj_head")
    page = c.get("/clues").get_data(as_text=True)
    assert "陈纪检" in page and "可查性较强" in page


def _letter_received(clues, iid, received_on):
    clues.triage(iid, "talk_inquiry")
    clues.do(iid, "inquiry", inquiry_method="letter", talk_record=None, letter_sent_on="2026-09-28",
             letter_received_on=received_on, inquiry_files=[])


def test_the_written_reply_runs_from_the_day_the_person_received_the_letter(clues, clock):
    from tests.web.test_clue_routes import end_of
    reg = clues.register(real_name=False)
    _letter_received(clues, reg.instance_id, "2026-10-09")
    due = clues.tasks(reg.instance_id)["inquiry_reply"].due_at
    assert due > end_of("2026-10-23")       # 15 working days from sending would end on 10-23
    clock.set(end_of("2026-10-26"))
    clues.do(reg.instance_id, "inquiry_reply", reply_received_on="2026-10-26", reply_summary="书面说明",
             signed_off_by="内科党支部书记 张明华", reply_files=[])
    assert clues.row(reg.instance_id)["reply_late"] is False


def test_a_reply_cannot_be_dated_before_the_person_received_the_letter(clues, clock):
    from tests.web.test_clue_routes import end_of
    reg = clues.register(real_name=False)
    _letter_received(clues, reg.instance_id, "2026-10-09")
    clock.set(end_of("2026-10-12"))
    with pytest.raises(Exception) as refused:
        clues.do(reg.instance_id, "inquiry_reply", reply_received_on="2026-10-08", reply_summary="x", reply_files=[])
    assert refused.value.problems[0].field == "reply_received_on"


def test_after_the_reply_the_office_may_inquire_again_or_hold_a_reminder_talk(clues, clock):
    from tests.web.test_clue_routes import end_of
    reg = clues.register(real_name=False)
    _letter_received(clues, reg.instance_id, "2026-09-29")
    clock.set(end_of("2026-10-12"))
    clues.do(reg.instance_id, "inquiry_reply", reply_received_on="2026-10-12", reply_summary="说明不清",
             signed_off_by="党支部书记", reply_files=[])
    clues.do(reg.instance_id, "evaluate", evaluation="again", evaluation_note="说明不清，再次函询")
    assert set(clues.tasks(reg.instance_id)) == {"inquiry"}
    clues.do(reg.instance_id, "inquiry", inquiry_method="talk", talk_record="谈话记录", letter_sent_on=None,
             inquiry_files=[])
    clues.do(reg.instance_id, "evaluate", evaluation="remind", evaluation_note="有苗头性问题")
    assert set(clues.tasks(reg.instance_id)) == {"outcome"}
    assert "提醒谈话" in clues.row(reg.instance_id)["result"]
