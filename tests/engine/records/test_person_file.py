"""廉政档案 / 医德档案, one file per person — seed 001 (六(6) 完善医德考评体系): "建立健全医务人员医德档案，
对医务人员的医德医风情况进行详实的考核登记，实行"一人一档"，人员流动时医德档案随同接转，考核结果仍然适用";
and 党风廉政意见回复 (issue 25: the Party committee asks for an integrity opinion: request → check → reply
with the file attached).

The story is the report scenario's campaign (tests/engine/campaign/reports_scenario.py): 王护士 (nurse) of
内科 is talked to on 29 September, discloses two issues on 20 October, and a clue about her comes in on
2 November.
"""
from __future__ import annotations

import pytest

from engine.clues import intake as clues_intake
from engine.db.transactions import write_transaction
from engine.errors import Forbidden
from engine.org import people as org
from engine.records import conduct, persons
from engine.org.people import signed_in as who      # the person, as a request's session names them
from tests.engine.campaign.reports_scenario import scenario, vault  # noqa: F401  (fixture)

pytestmark = [pytest.mark.real_forms, pytest.mark.both_databases]



def read(engine, viewer, subject):
    return persons.read_file(engine, who(engine, viewer), subject)


def move(engine, username, department):
    with write_transaction(engine.db) as conn:
        person = org.get_staff(conn, username)
        org.save_staff(conn, {**person, "department": department}, engine.clock.now())


def test_the_file_follows_the_nurse_when_she_moves_from_neike_to_waike(engine, scenario):
    """"人员流动时医德档案随同接转，考核结果仍然适用": her talk, disclosure and scores stay in her file,
    each with the department she was in then."""
    conduct.enter(engine, who(engine, "neike_head"), "nurse", {"year": 2026, "quarter": 3, "items": [
        {"kind": "plus", "points": "3", "reason": "患者书面表扬"}]})
    move(engine, "nurse", "waike")
    conduct.enter(engine, who(engine, "waike_head"), "nurse", {"year": 2026, "quarter": 4, "items": [
        {"kind": "minus", "points": "5", "reason": "服务态度被投诉"}]})
    f = read(engine, "jijian", "nurse")
    assert f["person"]["department"] == "waike"
    [talk] = f["talks"]
    assert (talk["talk_date"], talk["department"], talk["by"]) == ("2026-09-29", "neike", "neike_head")
    [disclosure] = f["disclosures"]
    assert (disclosure["disclosed_on"], disclosure["department"], disclosure["on_time"]) == ("2026-10-20", "neike", True)
    [year] = f["conduct"]
    assert [(q["quarter"], q["department"], q["score"]) for q in year["quarters"]] == [(3, "neike", 103), (4, "waike", 95)]
    assert (year["score"], year["grade"]) == (99, "优秀")
    assert f["departments"] == ["内科", "外科"]


def test_the_office_sees_the_clues_about_a_person_and_their_outcome_the_person_never(engine, scenario):
    """Clue material is for the discipline office only (issue 25); the person a clue is about never sees it."""
    office = read(engine, "jijian", "nurse")
    assert [c["summary"] for c in office["clues"]] == ["反映王护士态度问题"]          # K6, 2 November
    own = read(engine, "nurse", "nurse")
    assert own["scope"] == "self" and "clues" not in own
    assert [d["issues"] for d in own["disclosures"]] == [["问题1", "问题2"]]


def test_staff_cannot_open_a_colleagues_file_and_a_head_reads_only_talks_scores_and_training(engine, scenario):
    with pytest.raises(Forbidden):
        read(engine, "nurse2", "nurse")
    with pytest.raises(Forbidden):
        read(engine, "waike_head", "nurse")                 # not her head
    head = read(engine, "neike_head", "nurse")
    assert head["scope"] == "head" and len(head["talks"]) == 1
    assert not {"clues", "disclosures", "gifts"} & set(head)


def test_an_office_member_a_clue_is_about_never_sees_it_in_any_file(engine, scenario, vault):
    """回避: a clue about 郑主任, the office's head, is kept from him — in his own file too — while a
    colleague of the office sees it."""
    clues_intake.register(engine, vault, {
        "person_username": "jj_head", "person_name": "郑主任", "person_department": "jijian",
        "position_level": "middle_manager", "party_member": True, "summary": "反映郑主任违规报销",
        "source": "petition", "channel": "letter", "received_on": "2026-12-10", "real_name": False},
        started_by="jijian")
    assert [c["summary"] for c in read(engine, "jijian", "jj_head")["clues"]] == ["反映郑主任违规报销"]
    assert read(engine, "jj_head", "jj_head")["clues"] == []


def test_reading_someone_elses_file_is_recorded_on_its_hash_chain(engine, scenario):
    read(engine, "jijian", "nurse")
    read(engine, "nurse", "nurse")                          # one's own: not recorded
    events = [e for e in engine_events(engine, persons.CHAIN)]
    assert [(e["actor"], e["data"]["username"]) for e in events] == [("jijian", "nurse")]


def engine_events(engine, chain):
    import json
    import sqlalchemy as sa
    from engine.db.schema import event
    with engine.db.connect() as conn:
        return [{"actor": r.actor, "data": json.loads(r.data_json)} for r in conn.execute(
            sa.select(event.c.actor, event.c.data_json).where(event.c.chain == chain).order_by(event.c.seq))]


def test_the_party_committee_asks_for_an_integrity_opinion_and_the_office_checks_the_file(engine, scenario):
    """党风廉政意见回复: request (recorded by the office) → check with the person's file in the case panel →
    reply. The person concerned never sees the request."""
    from engine.inbox import case_panel
    from engine.permissions import can_view_instance
    iid = engine.start("integrity_opinion", started_by="jijian", data={
        "person": "nurse", "requested_by": "医院党委", "request_no": "院党委〔2026〕12号", "purpose": "award"}).id
    [check] = [t for t in engine.show(iid).tasks if t.element_id == "check"]
    with engine.db.connect() as conn:
        panel = case_panel.panel(conn, engine, who(engine, "jijian"), check)
        assert not can_view_instance(conn, who(engine, "nurse"), iid)
    shown = panel.views["records_person_file"]
    assert shown["person"]["name"] == "王护士" and [c["summary"] for c in shown["clues"]] == ["反映王护士态度问题"]
    assert panel.business.data["request_no"] == "院党委〔2026〕12号"
    engine.complete_task(check.id, user="jijian", data={"findings": "有一件线索正在办理", "pending_clue": True})
    [reply] = [t for t in engine.show(iid).tasks if t.element_id == "reply"]
    from engine.inbox import drafts
    from engine.documents import service as documents
    reply_data = {"conclusion": "pending", "opinion": "暂缓至线索办结后回复", "replied_on": "2026-12-10"}
    with write_transaction(engine.db) as conn:
        drafts.save(conn, reply.id, "jijian", reply_data, engine.clock.now())
    sealed = documents.generate(engine, who(engine, "jijian"), reply.id, "党风廉政意见回复")
    _, docx = documents.docx_file(engine, who(engine, "jijian"), sealed["id"])
    text = docx_text(docx)
    assert "院党委〔2026〕12号" in text and "王护士" in text and "暂缓至线索办结后回复" in text
    engine.complete_task(reply.id, user="jijian", data=reply_data)
    assert engine.show(iid).status == "completed"


def docx_text(data: bytes) -> str:
    import io
    from docx import Document
    doc = Document(io.BytesIO(data))
    return "".join(c.text for t in doc.tables for row in t.rows for c in row.cells) + "".join(p.text for p in doc.paragraphs)
