"""The four forms (四种形态) and 行政处罚 as seed 002's 附件4 notes define them: the staff record says
who is a public employee (公职人员) beside party membership; the four forms apply to party members
and public employees (政务处分 for non-party public employees), 行政处罚 counts only the handling of
staff who are neither, and a party member may also receive an administrative measure. The outcome
form refuses what cannot be, next to the field."""
from __future__ import annotations

import pytest

from engine.clues import four_forms, ledger, quarterly
from engine.db.transactions import write_transaction
from engine.errors import Invalid
from engine.org import people as org
from tests.helpers.web import login, post
from tests.web.test_clue_confidentiality import app  # noqa: F401  (fixture)
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


@pytest.fixture
def staff(office, db, clock):
    """刘护工 (hired outside the establishment: neither party member nor public employee), 陈医生 (a
    public employee, not a party member) and 赵主任 (a party member and public employee)."""
    with write_transaction(db) as conn:
        for username, name, party, public in (("hugong", "刘护工", False, False), ("chen", "陈医生", False, True),
                                              ("zhao", "赵主任", True, True)):
            org.save_staff(conn, {"username": username, "name": name, "department": "neike", "party_member": party,
                                  "public_employee": public, "roles": ["staff"]}, clock.now())


def _to_outcome(clues, username):
    reg = clues.register(real_name=False, person_username=username)
    clues.triage(reg.instance_id, "talk_inquiry")
    clues.do(reg.instance_id, "inquiry", inquiry_method="talk", talk_record="谈话记录", letter_sent_on=None,
             inquiry_files=[])
    clues.do(reg.instance_id, "evaluate", evaluation="remind", evaluation_note="提醒谈话")
    return reg


OUTCOME = {"measure": None, "admin_penalty": None, "publicized": False, "rules_improved": 0, "campaign": None}


def test_the_clue_takes_the_public_employee_flag_from_the_staff_record(clues, staff):
    reg = clues.register(real_name=False, person_username="chen", party_member=True, public_employee=False)
    row = clues.row(reg.instance_id)
    assert (row["person_name"], row["party_member"], row["public_employee"]) == ("陈医生", False, True)


def test_the_four_forms_are_refused_for_staff_who_are_neither_party_members_nor_public_employees(clues, staff):
    reg = _to_outcome(clues, "hugong")
    with pytest.raises(Invalid) as exc:
        clues.do(reg.instance_id, "outcome", **{**OUTCOME, "discipline_form": "first", "measure": "谈话提醒"})
    assert exc.value.problems[0].field == "discipline_form"
    assert "四种形态只适用于党员和公职人员" in exc.value.problems[0].message
    clues.do(reg.instance_id, "outcome", **{**OUTCOME, "discipline_form": "none", "admin_penalty": "扣发绩效"})
    assert "行政处罚：扣发绩效" in clues.row(reg.instance_id)["result"]


def test_a_non_party_public_employee_receives_a_government_sanction_counted_in_the_four_forms(clues, staff,
                                                                                             engine):
    reg = _to_outcome(clues, "chen")
    clues.do(reg.instance_id, "outcome", **{**OUTCOME, "discipline_form": "second", "measure": "政务警告"})
    assert engine.show(reg.instance_id).status == "completed"


def test_the_quarterly_figures_count_each_handling_where_the_seed_s_notes_put_it(clues, staff, engine):
    outcomes = {"hugong": {"discipline_form": "none", "admin_penalty": "扣发绩效"},
                "chen": {"discipline_form": "second", "measure": "政务警告", "admin_penalty": "调整岗位"},
                "zhao": {"discipline_form": "first", "measure": "诫勉", "admin_penalty": "取消评优"}}
    for username, given in outcomes.items():
        clues.do(_to_outcome(clues, username).instance_id, "outcome", **{**OUTCOME, **given})
    figures = quarterly.statistics(ledger.rows(engine, None), quarterly.Quarter(2026, 3))
    assert figures["forms"]["第一种形态"] == 1 and figures["forms"]["第二种形态"] == 1
    # only 刘护工's counts as 行政处罚: the party member's and the public employee's measures do not
    assert figures["admin_penalty"] == 1


def test_the_outcome_form_shows_the_refusal_next_to_the_field_with_the_input_kept(app, clues, staff):
    reg = _to_outcome(clues, "hugong")
    task = clues.tasks(reg.instance_id)["outcome"].id
    c = app.test_client()
    login(c, "jijian")
    resp = post(c, f"/tasks/{task}", {"discipline_form": "first", "measure": "谈话提醒（测试）", "publicized": "false",
                                      "action": "complete"}, page=f"/tasks/{task}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "四种形态只适用于党员和公职人员" in text and "谈话提醒（测试）" in text
    assert "outcome" in clues.tasks(reg.instance_id)


def test_the_counting_rule_in_one_place():
    assert four_forms.counted(True, True, "first", "调岗") == four_forms.Counted("first", False)
    assert four_forms.counted(False, True, "third", None) == four_forms.Counted("third", False)
    assert four_forms.counted(False, False, "none", "罚款") == four_forms.Counted(None, True)
    assert four_forms.counted(False, False, "first", None).dealt_with is False
    assert four_forms.problems(False, True, "second", None) == []
    assert [p.field for p in four_forms.problems(False, False, "fourth", None)] == ["discipline_form"]


def test_the_administrator_records_the_flag_and_the_staff_file_carries_it(app, staff, db):
    c = app.test_client()
    login(c, "admin")
    page = c.get("/admin/staff/hugong").get_data(as_text=True)
    assert "公职人员" in page
    from engine.org.spreadsheet import CONVERTERS, COLUMNS, STAFF
    assert "公职人员" in COLUMNS[STAFF]["public_employee"]
    assert CONVERTERS["public_employee"]("是") is True and CONVERTERS["public_employee"]("否") is False

