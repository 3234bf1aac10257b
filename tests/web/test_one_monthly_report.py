"""One monthly report per department and period: while the campaign's monthly report waits for 内科,
starting a stand-alone one for 内科 is refused next to the department, and 内科's head keeps one task
called 填报月度工作进展."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.schema import human_task
from tests.helpers.web import login, post
from tests.web.test_task_records import LAUNCH

pytestmark = pytest.mark.real_forms


def _reports(db, department):
    with db.connect() as conn:
        return conn.execute(sa.select(human_task.c.process_key).where(
            human_task.c.element_id == "fill_report", human_task.c.status == "open",
            human_task.c.candidate_department == department)).scalars().all()


def test_a_second_monthly_report_for_a_department_is_refused(client, engine, people, db, shipped):
    engine.start("campaign", started_by="jijian", business_key=LAUNCH["doc_no"], data=dict(LAUNCH))
    assert _reports(db, "neike") == ["campaign_monthly_report"]
    login(client, "jijian")
    resp = post(client, "/start/monthly_report", {"department": "neike"}, page="/start/monthly_report")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "本科室本期已有待填报的专项整治的月度工作进展" in page
    assert _reports(db, "neike") == ["campaign_monthly_report"]
    resp = post(client, "/start/monthly_report", {"department": "waike"}, page="/start/monthly_report")
    assert resp.status_code == 302 and _reports(db, "waike") == ["monthly_report"]
    resp = post(client, "/start/monthly_report", {"department": "waike"}, page="/start/monthly_report")
    assert resp.status_code == 422 and "另一份月报" in resp.get_data(as_text=True)
    assert _reports(db, "waike") == ["monthly_report"]
