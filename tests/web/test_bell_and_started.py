"""The notification bell (reminders reach the page, with an unread count, each linking to its task),
我发起的 with its receipt, and start pages whose repeating rows can grow."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from engine.deadlines.workdays import BEIJING
from tests.helpers.web import login, post
from tests.web.test_pages import report  # noqa: F401  (fixture)
from tests.web.test_task_records import LAUNCH

pytestmark = pytest.mark.real_forms


def test_a_reminder_rings_the_bell_and_leads_to_its_task(client, engine, report, clock):
    login(client, "neike_head")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="bell"' in page and 'data-testid="bell-count"' not in page
    due = engine.task(report).due_at
    clock.set(due - timedelta(hours=1))                  # the reminder is due before the deadline
    assert engine.sweep_deadlines() >= 1
    login(client, "neike_head")                          # (a day later: signed out for being idle)
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="bell-count">1<' in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert 'data-testid="notification"' in listing and "unread" in listing
    nid = re.search(r'action="/notifications/(\d+)"', listing).group(1)
    resp = post(client, f"/notifications/{nid}", page="/notifications")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/tasks/{report}"
    assert 'data-testid="bell-count"' not in client.get("/inbox").get_data(as_text=True)


def test_another_persons_notification_cannot_be_opened(client, engine, report, clock, app):
    clock.set(engine.task(report).due_at - timedelta(hours=1))
    engine.sweep_deadlines()
    login(client, "neike_head")
    nid = re.search(r'action="/notifications/(\d+)"', client.get("/notifications").get_data(as_text=True)).group(1)
    other = app.test_client()
    login(other, "surgeon")
    assert post(other, f"/notifications/{nid}", page="/notifications").status_code == 404


def test_a_discloser_gets_a_receipt_and_finds_her_disclosure_again_with_its_on_time_result(client, engine, people, shipped):
    engine.start("campaign", started_by="jijian", business_key=LAUNCH["doc_no"], data=dict(LAUNCH))
    login(client, "nurse")
    form = client.get("/start/campaign_disclosure").get_data(as_text=True)
    assert "/static/js/forms.js" in form                    # the repeating rows can grow
    resp = post(client, "/start/campaign_disclosure", {
        "issues[0].summary": "收受患者红包", "issues[0].detail": "八月一日",
        "issues[1].summary": "收受药商购物卡", "issues[1].detail": "七月一日", "money": "0.2"}, page="/start/campaign_disclosure")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    receipt = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="receipt"' in receipt and "收受患者红包" in receipt and "收受药商购物卡" in receipt
    assert "按期说明" in receipt and 'data-testid="told">是<' in receipt
    mine = client.get("/started").get_data(as_text=True)
    assert "主动说明" in mine and "按期说明：是" in mine
    other = client.application.test_client()
    login(other, "nurse2")
    assert "收受患者红包" not in other.get("/started").get_data(as_text=True)
    assert other.get(resp.headers["Location"]).status_code == 404


def test_a_result_on_the_bell_leads_to_the_starters_page_of_the_instance(
        client, app, engine, deploy, people):
    deploy("send_back.bpmn")
    view = engine.start("send_back", started_by="nurse", business_key="2026-031")
    for user in ("nurse", "neike_head", "jijian", "jijian"):
        view = engine.complete_task(view.tasks[0].id, user=user, data={})
    login(client, "nurse")
    listing = client.get("/notifications").get_data(as_text=True)
    assert "已办结：处置意见审批" in listing and "办结" in listing
    nid = re.search(r'action="/notifications/(\d+)"', listing).group(1)
    resp = post(client, f"/notifications/{nid}", page="/notifications")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/started/{view.id}"
    assert client.get(resp.headers["Location"]).status_code == 200
