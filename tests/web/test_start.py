"""Starting a process from the browser: who sees which process, the start form, and its errors."""
from __future__ import annotations

import sqlalchemy as sa

import pytest

from engine.db.schema import process_instance
from tests.web.test_pages import report  # noqa: F401  (fixtures)
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def test_the_office_sees_the_monthly_report_among_the_processes_it_may_start(client, report):
    login(client, "jijian")
    page = client.get("/start").get_data(as_text=True)
    assert "月度工作进展报告" in page and 'data-testid="start-monthly_report"' in page


def test_staff_without_the_role_do_not_see_it(client, report):
    login(client, "nurse")
    assert "start-monthly_report" not in client.get("/start").get_data(as_text=True)


def test_starting_sends_the_task_to_the_chosen_departments_head(client, report, engine, db):
    login(client, "jijian")
    resp = post(client, "/start/monthly_report", {"department": "waike", "business_key": "2026-10 外科"},
                page="/start/monthly_report")
    assert resp.status_code == 302
    with db.connect() as conn:
        row = conn.execute(sa.select(process_instance).where(process_instance.c.business_key == "2026-10 外科")).one()
    view = engine.show(row.id)
    assert view.data["department"] == "waike" and view.started_by == "jijian"
    assert view.tasks[0].candidate_department == "waike"


def test_a_missing_department_is_named_and_nothing_starts(client, report, db):
    login(client, "jijian")
    with db.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar()
    resp = post(client, "/start/monthly_report", {"department": ""}, page="/start/monthly_report")
    assert resp.status_code == 422 and "报送科室" in resp.get_data(as_text=True)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar() == before


def test_an_unknown_process_is_404(client, report):
    login(client, "jijian")
    assert client.get("/start/no_such_process").status_code == 404
