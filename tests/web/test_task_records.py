"""A task's form holds that task's record and nothing else: a fresh 一对一谈心谈话 opens empty (not with
the mobilization meeting's 谈话要点 or an earlier talk's date), a completed talk shows what that talk
was completed with."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.schema import human_task
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms

LAUNCH = {"name": "医疗服务行业腐败问题专项整治", "doc_no": "清廉医〔2026〕9号", "departments": ["neike"],
          "mobilization_deadline": "2026-10-20", "selfcheck_deadline": "2026-10-31",
          "rectification_deadline": "2026-11-30", "consolidation_deadline": "2026-12-31",
          "disclosure_deadline": "2026-10-30", "report_day": 20}


@pytest.fixture
def campaign(engine, people, shipped):
    return engine.start("campaign", started_by="jijian", business_key=LAUNCH["doc_no"], data=dict(LAUNCH))


def _open(db, element_id: str) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(human_task.c.id).where(
            human_task.c.element_id == element_id, human_task.c.status == "open").order_by(human_task.c.name)).scalars())


def test_a_talk_opens_with_its_own_record_only_and_a_completed_talk_shows_what_it_was_completed_with(
        client, engine, db, campaign):
    login(client, "neike_head")
    meeting = _open(db, "meeting")[0]
    resp = post(client, f"/tasks/{meeting}", {"meeting_date": "2026-09-28", "attendance": "3",
                                               "summary": "动员会要点：廉洁从业九项准则", "action": "complete"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    first, second, *_ = _open(db, "talk")
    page = client.get(f"/tasks/{first}").get_data(as_text=True)
    assert "廉洁从业九项准则" not in page

    resp = post(client, f"/tasks/{first}", {"talk_date": "2026-09-29", "summary": "第一次谈话：收红包风险",
                                             "action": "complete"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(f"/tasks/{second}").get_data(as_text=True)
    assert "2026-09-29" not in page and "收红包风险" not in page and "廉洁从业九项准则" not in page

    resp = post(client, f"/tasks/{second}", {"talk_date": "2026-09-30", "summary": "第二次谈话：过度检查",
                                              "action": "complete"})
    assert resp.status_code == 302
    done = client.get(f"/tasks/{first}").get_data(as_text=True)
    assert "收红包风险" in done and "2026年9月29日" in done
    assert "过度检查" not in done and "2026年9月30日" not in done and "廉洁从业九项准则" not in done


def test_a_saved_draft_is_what_the_form_opens_with(client, engine, db, campaign):
    login(client, "neike_head")
    meeting = _open(db, "meeting")[0]
    post(client, f"/tasks/{meeting}", {"meeting_date": "2026-09-28", "summary": "草稿要点", "action": "draft"})
    assert "草稿要点" in client.get(f"/tasks/{meeting}").get_data(as_text=True)
