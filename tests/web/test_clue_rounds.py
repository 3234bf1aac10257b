"""回头看 closes the loop: a review that found a problem lets the office reopen a closed clue for a
new disposal round on the same ledger line — the round's number in the ledger and its Excel export,
the earlier round's result kept, the decision in the hash chain, nobody recused let back in."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from engine.clues import rounds
from engine.errors import Forbidden, Invalid
from engine.org.people import principal
from engine.runtime.recusal import is_excluded
from engine.db.transactions import read_transaction
from tests.helpers.web import login, post
from tests.web.test_clue_confidentiality import app  # noqa: F401  (fixture)
from tests.web.test_clue_routes import clues, end_of, office, vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


def _review(engine, iid, *, problem=True, confirmed=True):
    view = engine.start("clue_review", started_by="jijian", data={"clue_instance_id": iid, "office_department": "jijian"})
    [task] = view.tasks
    engine.complete_task(task.id, user="jijian", data={
        "review_findings": "了结依据不足，患者家属提供了新的转账记录" if problem else "处置恰当",
        "review_problem": problem, "review_follow_up": "重新研判" if problem else None})
    [confirm] = engine.show(view.id).tasks
    engine.complete_task(confirm.id, user="jj_head", data={"review_confirmed": confirmed, "review_comment": None})
    return view.id


@pytest.fixture
def closed(clues):
    reg = clues.register(real_name=False)
    clues.triage(reg.instance_id, "close", "经了解不属实")
    assert clues.row(reg.instance_id)["status"] == "closed"
    return reg


def _office(db):
    with read_transaction(db) as conn:
        return principal(conn, "jijian")


def test_a_review_finding_reopens_the_clue_in_a_new_round_on_the_same_ledger_line(app, clues, closed, engine):
    review = _review(engine, closed.instance_id)
    c = app.test_client()
    login(c, "jijian")
    page = c.get(f"/clues/{closed.instance_id}").get_data(as_text=True)
    assert "根据回头看重新处置" in page and "新的转账记录" in page
    resp = post(c, f"/clues/{closed.instance_id}/reopen", {"review_instance_id": review, "reason": "发现新证据"},
                page=f"/clues/{closed.instance_id}")
    assert resp.status_code == 302
    row = clues.row(closed.instance_id)
    assert (row["round"], row["status"], row["stage"]) == (2, "open", "分析研判")
    assert row["business_key"] == closed.business_key and row["received_on"] == "2026-09-28"
    assert row["result"].startswith("第1轮：予以了结；了结理由：经了解不属实\n第2轮（2026-09-28回头看重新处置）：")
    # one line in the ledger, marked with its round, in the page and in the Excel export
    ledger = c.get("/clues").get_data(as_text=True)
    assert ledger.count(f'data-clue="{closed.business_key}"') == 1 and "第2轮处置" in ledger
    sheet = load_workbook(io.BytesIO(c.get("/clues/export.xlsx").data)).active
    cells = [str(v) for r in sheet.iter_rows(values_only=True) for v in r if v]
    assert sum("刘某" == v for v in cells) == 1 and any("第2轮（2026-09-28回头看重新处置）" in v for v in cells)
    # the new round is decided collectively again, due one month from the reopening
    tasks = clues.tasks(row["current_instance_id"])
    assert set(tasks) == {"triage"}
    assert tasks["triage"].due_at == end_of("2026-10-28")
    # the decision is in the new round's hash chain, with who took it
    [started] = [e for e in engine.events(row["current_instance_id"]) if e["type"] == "instance_started"]
    assert started["actor"] == "jijian"
    assert (started["data"]["data"]["clue_line_id"], started["data"]["data"]["review_instance_id"],
            started["data"]["data"]["reopen_reason"], started["data"]["data"]["round_number"]) == \
        (closed.instance_id, review, "发现新证据", 2)
    # the second round runs to its end; both results stay on the line
    clues.triage(row["current_instance_id"], "talk_inquiry", "需谈话")
    clues.do(row["current_instance_id"], "inquiry", inquiry_method="talk", talk_record="谈话记录", letter_sent_on=None,
             inquiry_files=[])
    clues.do(row["current_instance_id"], "evaluate", evaluation="remind", evaluation_note="提醒")
    clues.do(row["current_instance_id"], "outcome", discipline_form="first", measure="谈话提醒", admin_penalty=None,
             publicized=False, rules_improved=0, campaign=None)
    row = clues.row(closed.instance_id)
    assert row["status"] == "closed" and [r["round"] for r in row["rounds"]] == [1, 2]
    assert "第1轮：予以了结" in row["result"] and "第一种形态（谈话提醒）" in row["result"]
    # the earlier round is untouched
    assert engine.show(closed.instance_id).status == "completed"


def test_only_a_confirmed_review_that_found_a_problem_reopens_and_only_once(clues, closed, engine, db):
    office = _office(db)
    nothing = _review(engine, closed.instance_id, problem=False)
    with pytest.raises(Invalid) as exc:
        rounds.reopen(engine, office, closed.instance_id, nothing, "复查")
    assert [p.field for p in exc.value.problems] == ["review_instance_id"]
    found = _review(engine, closed.instance_id)
    with pytest.raises(Invalid) as exc:
        rounds.reopen(engine, office, closed.instance_id, found, "  ")
    assert [p.field for p in exc.value.problems] == ["reason"]
    rounds.reopen(engine, office, closed.instance_id, found, "发现新证据")
    with pytest.raises(Invalid) as exc:      # the line is being handled again, and the review was used
        rounds.reopen(engine, office, closed.instance_id, found, "再次")
    assert {p.field for p in exc.value.problems} == {"review_instance_id"}
    assert clues.row(closed.instance_id)["round"] == 2


def test_only_the_office_reopens_a_clue(app, clues, closed, engine, db):
    review = _review(engine, closed.instance_id)
    with read_transaction(db) as conn:
        leader = principal(conn, "leader")
    with pytest.raises(Forbidden):
        rounds.reopen(engine, leader, closed.instance_id, review, "理由")
    c = app.test_client()
    login(c, "leader")
    assert "根据回头看重新处置" not in c.get(f"/clues/{closed.instance_id}").get_data(as_text=True)
    assert post(c, f"/clues/{closed.instance_id}/reopen", {"review_instance_id": review, "reason": "x"}
                ).status_code == 403
    assert clues.row(closed.instance_id)["round"] == 1


def test_a_refused_reopening_says_why_next_to_the_field_and_keeps_the_reason(app, clues, closed, engine):
    _review(engine, closed.instance_id, problem=False)
    found = _review(engine, closed.instance_id)
    c = app.test_client()
    login(c, "jijian")
    resp = post(c, f"/clues/{closed.instance_id}/reopen", {"review_instance_id": "nonsense", "reason": "我的理由"},
                page=f"/clues/{closed.instance_id}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "回头看发现的问题：请选择一项发现问题" in text and "我的理由" in text
    assert found in text


def test_whoever_was_kept_out_of_the_first_round_is_kept_out_of_the_next(clues, engine, db):
    reg = clues.register(real_name=False)
    triage = clues.tasks(reg.instance_id)["triage"]
    engine.declare_conflict(triage.id, user="owner", reason="与被反映人系同学")
    clues.triage(reg.instance_id, "close", "不属实")
    review = _review(engine, reg.instance_id)
    view = rounds.reopen(engine, _office(db), reg.instance_id, review, "发现新证据")
    with read_transaction(db) as conn:
        assert is_excluded(conn, "owner", reg.instance_id) and is_excluded(conn, "owner", view.id)
        assert not is_excluded(conn, "jijian", view.id)
