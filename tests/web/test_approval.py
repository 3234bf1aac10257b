"""退回 and 撤回 over HTTP, on the shipped monthly report: 内科's head fills it in, the discipline
office reviews it and sends it back; the head withdraws a report sent too early."""
from __future__ import annotations

import pytest

from tests.helpers.web import login, post
from tests.web.test_api import tokens  # noqa: F401  (fixture)
from tests.web.test_pages import VALID_REPORT, report  # noqa: F401  (fixture)

pytestmark = pytest.mark.real_forms


def _filled(app, report, engine):
    head = app.test_client()
    login(head, "neike_head")
    assert post(head, f"/tasks/{report}", VALID_REPORT, page=f"/tasks/{report}").status_code == 302
    view = engine.show(engine.task(report).instance_id)
    return head, view.tasks[0].id


def test_the_office_sends_a_report_back_and_its_author_finds_it_with_reason_and_previous_text(app, report, engine):
    head, review = _filled(app, report, engine)
    office = app.test_client()
    login(office, "jijian")
    refused = post(office, f"/tasks/{review}/send-back", {"reason": "  "}, page=f"/tasks/{review}")
    assert refused.status_code == 422 and "请填写退回原因" in refused.get_data(as_text=True)
    assert engine.task(review).status == "open"
    done = post(office, f"/tasks/{review}/send-back", {"reason": "进展写得太笼统"}, page=f"/tasks/{review}")
    assert done.status_code == 302
    assert engine.task(review).status == "sent_back"
    again = engine.task(report)
    assert again.status == "open" and again.assignee == "neike_head"
    page = head.get(f"/tasks/{report}").get_data(as_text=True)
    assert "进展写得太笼统" in page and 'data-testid="sent-back"' in page
    assert "完成了全科廉洁教育" in page            # the previous submission, as the draft
    assert 'data-testid="sent-back"' in page and "退回" in page


def test_the_author_withdraws_while_the_review_is_untouched_but_not_after(app, report, engine):
    head, review = _filled(app, report, engine)
    resp = post(head, f"/tasks/{report}/withdraw", {}, page=f"/tasks/{report}")
    assert resp.status_code == 302 and engine.task(report).status == "open"
    assert engine.task(review).status == "withdrawn"
    head2, review2 = _filled(app, report, engine)
    office = app.test_client()
    login(office, "jijian")
    post(office, f"/tasks/{review2}/claim", {}, page=f"/tasks/{review2}")
    refused = post(head, f"/tasks/{report}/withdraw", {}, page=f"/tasks/{report}")
    assert refused.status_code == 409 and "认领" in refused.get_data(as_text=True)


def test_the_api_sends_back_and_withdraws_with_named_errors(app, report, engine, tokens):
    head, review = _filled(app, report, engine)
    api = app.test_client()
    office = {"Authorization": f"Bearer {tokens['jijian']}"}
    resp = api.post(f"/api/v1/tasks/{review}/send-back", json={"reason": ""}, headers=office)
    assert resp.status_code == 422 and "reason" in resp.get_json()["fields"]
    resp = api.post(f"/api/v1/tasks/{review}/send-back", json={"reason": "x", "to": "nope"}, headers=office)
    assert resp.status_code == 422 and "to" in resp.get_json()["fields"]
    resp = api.post(f"/api/v1/tasks/{review}/send-back", json={"reason": "请补充"}, headers=office)
    assert resp.status_code == 200 and resp.get_json()["tasks"][0]["element_id"] == "fill_report"
    mine = {"Authorization": f"Bearer {tokens['neike_head']}"}
    assert api.post(f"/api/v1/tasks/{report}/withdraw", json={}, headers=mine).status_code == 409


def test_the_office_urges_from_the_task_page_and_the_holder_sees_the_count(app, report, engine):
    office = app.test_client()
    login(office, "jijian")
    assert post(office, f"/tasks/{report}/urge", {"message": "请今天提交月报"}, page=f"/tasks/{report}").status_code == 302
    head = app.test_client()
    login(head, "neike_head")
    page = head.get(f"/tasks/{report}").get_data(as_text=True)
    assert 'data-testid="urges"' in page and "已被催办 1 次" in page
    nurse = app.test_client()
    login(nurse, "nurse")
    assert post(nurse, f"/tasks/{report}/urge", {"message": "x"}, page="/inbox").status_code == 403


def test_a_copy_shows_in_the_recipients_list_and_its_reading_is_seen_by_the_sender(app, report, engine):
    head = app.test_client()
    login(head, "neike_head")
    refused = post(head, f"/tasks/{report}/copies", {"message": "请知悉"}, page=f"/tasks/{report}")
    assert refused.status_code == 422 and "请选择抄送对象" in refused.get_data(as_text=True)
    assert "请知悉" in refused.get_data(as_text=True)                 # input kept
    assert post(head, f"/tasks/{report}/copies", {"to": ["nurse"], "message": "请知悉"},
                page=f"/tasks/{report}").status_code == 302
    assert "未阅" in head.get(f"/tasks/{report}").get_data(as_text=True)
    nurse = app.test_client()
    login(nurse, "nurse")
    listed = nurse.get("/copies").get_data(as_text=True)
    assert "请知悉" in listed and "未阅" in listed
    import re
    copy_id = re.search(r'/copies/(\d+)', listed).group(1)
    page = nurse.get(f"/copies/{copy_id}")
    assert page.status_code == 200 and "只能查看" in page.get_data(as_text=True)
    assert "已阅" in head.get(f"/tasks/{report}").get_data(as_text=True)
    other = app.test_client()
    login(other, "surgeon")
    assert other.get(f"/copies/{copy_id}").status_code == 404


def test_bulk_from_the_inbox_reports_each_task(app, report, engine):
    head = app.test_client()
    login(head, "neike_head")
    page = head.get("/inbox?view=claimable").get_data(as_text=True)
    assert 'form="bulk"' in page and f'value="{report}"' in page
    resp = post(head, "/inbox/bulk", {"action": "complete", "task_ids": [report]}, follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "失败 1 个" in text and "不允许批量" in text
    resp = post(head, "/inbox/bulk", {"action": "claim", "task_ids": [report]}, follow_redirects=True)
    assert "成功 1 个" in resp.get_data(as_text=True) and engine.task(report).assignee == "neike_head"


def test_the_api_bulk_completes_reviews_with_their_forms_decision(app, report, engine, tokens):
    head, review = _filled(app, report, engine)
    api = app.test_client()
    resp = api.post("/api/v1/tasks/bulk", json={"action": "complete", "task_ids": [review, "nope"]},
                    headers={"Authorization": f"Bearer {tokens['jijian']}"})
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [i["ok"] for i in items] == [True, False] and items[1]["code"]
    assert engine.show(engine.task(review).instance_id).data["accepted"] is True


def test_adding_a_signer_where_the_step_allows_none_is_refused_on_the_page(app, report, engine):
    head = app.test_client()
    login(head, "neike_head")
    resp = post(head, f"/tasks/{report}/signers", {"signer": "jijian", "position": "before", "reason": "请先把关"},
                page=f"/tasks/{report}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "此步骤不允许加签" in text
    assert 'id="add-signer' not in text                    # the page offers 加签 only where the step allows it
    assert head.get("/signatures").status_code == 200
