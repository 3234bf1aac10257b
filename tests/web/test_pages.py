"""The staff-facing pages over HTTP: signing in, the inbox, the task page, administration.

The monthly report process is the subject: the discipline office starts it for 内科, the task reaches
内科's head, who fills in the report; the discipline office then reviews it.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.config import PROJECT_ROOT
from engine.db.schema import attachment, event, staff
from engine.bpmn.validation import SourceFile
from tests.conftest import PASSWORD
from tests.helpers.web import csrf, login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


@pytest.fixture
def report(engine, people):
    """A monthly report instance waiting for 内科's head; returns its task id."""
    src = PROJECT_ROOT / "processes" / "monthly_report.bpmn"
    engine.deploy([SourceFile(src.name, src.read_bytes())], deployed_by="owner")
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科",
                        data={"department": "neike", "department_name": "内科"})
    return view.tasks[0].id


VALID_REPORT = {"month": "2026-09-01", "progress": "完成了全科廉洁教育", "action": "complete"}


# --- signing in ---------------------------------------------------------------------------------

def test_pages_need_a_signed_in_user(client, people):
    resp = client.get("/inbox")
    assert resp.status_code == 302 and "/login?next=/inbox" in resp.headers["Location"]


def test_sign_in_sets_a_safe_session_cookie_and_shows_the_inbox(client, people):
    resp = login(client, "nurse")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/inbox")
    assert page.status_code == 200 and "王护士" in page.get_data(as_text=True)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_wrong_password_is_refused_and_five_failures_lock_the_account(client, people, clock):
    for _ in range(5):
        resp = login(client, "nurse", "wrong-password")
        assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    resp = login(client, "nurse")                       # right password, but locked now
    assert resp.status_code == 401 and "锁定" in resp.get_data(as_text=True)
    clock.advance(timedelta(minutes=16))
    assert login(client, "nurse").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client, people):
    resp = client.post("/login", data={"username": "nurse", "password": PASSWORD})
    assert resp.status_code == 400
    login(client, "nurse")
    assert client.post("/logout").status_code == 400
    assert client.get("/inbox").status_code == 200       # still signed in


def test_sign_out(client, people):
    login(client, "nurse")
    assert post(client, "/logout").status_code == 302
    assert client.get("/inbox").status_code == 302


def test_login_does_not_redirect_off_site(client, people):
    token = csrf(client)
    resp = client.post("/login?next=//evil.example/x", data={"username": "nurse", "password": PASSWORD,
                                                              "csrf_token": token})
    assert resp.headers["Location"] == "/inbox"


def test_change_password(client, people):
    login(client, "nurse")
    page = "/account/password"
    resp = post(client, page, {"old_password": "nope", "new_password": "new-secret-9",
                               "confirm_password": "new-secret-9"}, page=page)
    assert resp.status_code == 422 and "原密码不正确" in resp.get_data(as_text=True)
    resp = post(client, page, {"old_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
                page=page)
    assert resp.status_code == 422 and "至少 8 位" in resp.get_data(as_text=True)
    resp = post(client, page, {"old_password": PASSWORD, "new_password": "new-secret-9",
                               "confirm_password": "new-secret-9"}, page=page)
    assert resp.status_code == 302
    post(client, "/logout")
    assert login(client, "nurse").status_code == 401
    assert login(client, "nurse", "new-secret-9").status_code == 302


def test_english_is_one_click_away_and_remembered(client, people, db):
    login(client, "nurse")
    assert "我的任务" in client.get("/inbox").get_data(as_text=True)
    post(client, "/account/locale", {"locale": "en", "next": "/inbox"})
    page = client.get("/inbox").get_data(as_text=True)
    assert "My tasks" in page and 'lang="en"' in page
    with db.connect() as conn:
        assert conn.execute(sa.select(staff.c.locale).where(staff.c.username == "nurse")).scalar() == "en"


# --- the inbox ----------------------------------------------------------------------------------

def test_the_task_reaches_exactly_the_head_of_the_department(client, report, app):
    login(client, "neike_head")
    page = client.get("/inbox?view=claimable").get_data(as_text=True)
    assert "月度工作进展报告" in page or "2026-09 内科" in page
    assert report in page
    for other in ("waike_head", "nurse", "surgeon"):
        c = app.test_client()
        login(c, other)
        assert report not in c.get("/inbox?view=claimable").get_data(as_text=True)
        assert c.get(f"/tasks/{report}").status_code == 403


def test_the_inbox_opens_on_the_tasks_waiting_to_be_taken_up_when_none_is_claimed(client, report, engine):
    """A department head with nothing claimed yet lands on the tasks waiting for them, not on an empty
    "我的任务" (on a phone the other lists are behind the menu); asked for, "我的任务" is still empty."""
    login(client, "neike_head")
    first = client.get("/inbox").get_data(as_text=True)
    assert "可认领的任务" in first and f"/tasks/{report}" in first
    mine = client.get("/inbox?view=mine").get_data(as_text=True)
    assert "我的任务" in mine and f"/tasks/{report}" not in mine
    engine.claim(report, user="neike_head")
    again = client.get("/inbox").get_data(as_text=True)
    assert "<h1>我的任务" in again and f"/tasks/{report}" in again


def test_deadline_is_shown_the_chinese_way(client, report, engine):
    login(client, "neike_head")
    task = engine.task(report)
    assert task.due_at
    page = client.get("/inbox?view=claimable").get_data(as_text=True)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 (24:00|\d\d:\d\d)", page)


def test_counts_filters_search_and_paging(client, report, engine, people):
    for month in range(2, 5):
        engine.start("monthly_report", started_by="jijian", business_key=f"2026-0{month} 内科",
                     data={"department": "neike", "department_name": "内科"})
    login(client, "neike_head")
    page = client.get("/inbox?view=claimable&per_page=10").get_data(as_text=True)
    assert 'data-count="claimable">4<' in page
    page = client.get("/inbox?view=claimable&q=2026-03").get_data(as_text=True)
    assert "2026-03 内科" in page and "2026-04 内科" not in page
    assert "共 1 条" in page
    assert client.get("/inbox?view=nonsense").status_code == 400
    assert client.get("/inbox?page=abc").status_code == 400
    # the department filter: the total follows it, and the chosen department stays chosen
    page = client.get("/inbox?view=claimable&department=waike").get_data(as_text=True)
    assert "共 0 条" in page and '<option value="waike" selected>外科</option>' in page
    assert '<option value="neike">内科</option>' in page


def test_search_text_is_matched_literally(client, report, engine):
    """A % or _ typed into the search box is that character, not a wildcard matching anything."""
    engine.start("monthly_report", started_by="jijian", business_key="2026_05 内科 100%",
                 data={"department": "neike", "department_name": "内科"})
    login(client, "neike_head")
    page = client.get("/inbox?view=claimable&q=100%25").get_data(as_text=True)
    assert "2026_05 内科 100%" in page and "共 1 条" in page
    page = client.get("/inbox?view=claimable&q=2026_0").get_data(as_text=True)
    assert "2026_05 内科 100%" in page and "共 1 条" in page
    assert "共 0 条" in client.get("/inbox?view=claimable&q=%25%25%25").get_data(as_text=True)
    assert "共 0 条" in client.get("/inbox?view=claimable&q=\\").get_data(as_text=True)


def test_saved_filters_belong_to_their_owner(client, report, app):
    login(client, "neike_head")
    post(client, "/inbox/filters", {"name": "三月", "view": "claimable", "q": "2026-03"})
    assert "三月" in client.get("/inbox").get_data(as_text=True)
    other = app.test_client()
    login(other, "waike_head")
    assert "三月" not in other.get("/inbox").get_data(as_text=True)


def test_a_saved_filter_name_is_shown_as_text_also_inside_translated_labels(client, report):
    """The name goes into a translated label (`_('删除筛选 %(name)s', name=…)`): escaped there too."""
    login(client, "neike_head")
    post(client, "/inbox/filters", {"name": '<img src=x onerror="alert(1)">', "view": "claimable"})
    for locale, label in (("zh", "删除筛选 "), ("en", "Delete filter ")):
        post(client, "/account/locale", {"locale": locale, "next": "/inbox"})
        page = client.get("/inbox").get_data(as_text=True)
        assert "<img src=x" not in page
        assert label + "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


# --- the task page ------------------------------------------------------------------------------

def test_claim_then_complete_with_field_errors_then_valid(client, report, engine, app):
    login(client, "neike_head")
    page = client.get(f"/tasks/{report}")
    assert page.status_code == 200
    assert post(client, f"/tasks/{report}/claim", page=f"/tasks/{report}").status_code == 302
    assert engine.task(report).assignee == "neike_head"

    bad = post(client, f"/tasks/{report}", {"month": "2026-13-45", "progress": "", "problems": "有一些问题",
                                             "action": "complete"}, page=f"/tasks/{report}")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in text and "有一些问题" in text        # errors shown, typing kept
    assert engine.task(report).status == "open"

    ok = post(client, f"/tasks/{report}", VALID_REPORT, page=f"/tasks/{report}")
    assert ok.status_code == 302
    assert engine.task(report).status == "completed"

    reviewer = app.test_client()
    login(reviewer, "jijian")
    page = reviewer.get("/inbox?view=claimable").get_data(as_text=True)
    assert "2026-09 内科" in page


def test_a_draft_is_kept_for_its_author(client, report, engine):
    login(client, "neike_head")
    post(client, f"/tasks/{report}", {"progress": "写了一半", "action": "draft"}, page=f"/tasks/{report}")
    assert engine.task(report).status == "open"
    assert "写了一半" in client.get(f"/tasks/{report}").get_data(as_text=True)


def test_completing_a_task_discards_its_draft_with_the_completion(client, report, engine, db):
    from engine.db.schema import task_draft
    login(client, "neike_head")
    post(client, f"/tasks/{report}", {"progress": "写了一半", "action": "draft"}, page=f"/tasks/{report}")
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(task_draft)).scalar() == 1
    assert post(client, f"/tasks/{report}", VALID_REPORT, page=f"/tasks/{report}").status_code == 302
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(task_draft)).scalar() == 0
    assert engine.task(report).status == "completed"


def _deputy(engine):
    """A second head for 内科 (the deputy): someone a head's task may be handed to."""
    from engine.db.transactions import write_transaction
    from engine.org import people as org
    with write_transaction(engine.db) as conn:
        org.save_staff(conn, {"username": "deputy", "name": "钱副主任", "department": "neike",
                              "roles": ["staff", "department_head"]}, engine.clock.now(), password_hash=None)


def test_transfer_needs_a_reason_and_is_recorded(client, report, engine, db):
    _deputy(engine)
    login(client, "neike_head")
    post(client, f"/tasks/{report}/claim", page=f"/tasks/{report}")
    resp = post(client, f"/tasks/{report}/transfer", {"to": "deputy", "reason": ""}, page=f"/tasks/{report}")
    assert resp.status_code == 422 and "请填写原因" in resp.get_data(as_text=True)
    resp = post(client, f"/tasks/{report}/transfer", {"to": "deputy", "reason": "出差一周"}, page=f"/tasks/{report}")
    assert resp.status_code == 302
    assert engine.task(report).assignee == "deputy"
    with db.connect() as conn:
        row = conn.execute(sa.select(event.c.data_json).where(event.c.type == "task_delegated")).one()
    assert "出差一周" in row.data_json


def test_only_the_department_head_may_reassign(client, report, engine, app):
    _deputy(engine)
    engine.claim(report, user="neike_head")
    other = app.test_client()
    login(other, "waike_head")
    resp = post(other, f"/tasks/{report}/reassign", {"to": "deputy", "reason": "x"})
    assert resp.status_code == 403
    login(client, "neike_head")
    resp = post(client, f"/tasks/{report}/reassign", {"to": "deputy", "reason": "轮岗"}, page=f"/tasks/{report}")
    assert resp.status_code == 302 and engine.task(report).assignee == "deputy"


def test_comments_and_attachments(client, report, db):
    login(client, "neike_head")
    page = f"/tasks/{report}"
    post(client, f"/tasks/{report}/comments", {"body": "请各位<b>注意</b>"}, page=page)
    text = client.get(page).get_data(as_text=True)
    assert "请各位&lt;b&gt;注意&lt;/b&gt;" in text                     # escaped, never HTML
    resp = post(client, f"/tasks/{report}/attachments", {"file": (__import__("io").BytesIO(b"%PDF-1.4 x"), "a.pdf")},
                page=page, content_type="multipart/form-data")
    assert resp.status_code == 302
    resp = post(client, f"/tasks/{report}/attachments", {"file": (__import__("io").BytesIO(b"MZ"), "x.exe")},
                page=page, content_type="multipart/form-data")
    assert resp.status_code == 422
    with db.connect() as conn:
        att = conn.execute(sa.select(attachment.c.id, attachment.c.sha256)).one()
    download = client.get(f"/attachments/{att.id}")
    assert download.data == b"%PDF-1.4 x" and download.headers["X-Content-SHA256"] == att.sha256
    assert "attachment" in download.headers["Content-Disposition"]


def test_a_completion_with_a_file_that_fails_to_commit_leaves_no_file_and_keeps_the_draft(client, report, engine,
                                                                                           db):
    login(client, "neike_head")
    page = f"/tasks/{report}"
    assert post(client, page, {"progress": "草稿", "action": "draft"}, page=page).status_code == 302

    def the_database_goes_away(instance_id):
        raise RuntimeError("the connection dropped before the commit")
    engine.before_commit = the_database_goes_away
    with pytest.raises(RuntimeError):
        post(client, page, {**VALID_REPORT, "attachments": (__import__("io").BytesIO(b"%PDF-1.4 x"), "a.pdf")},
             page=page, content_type="multipart/form-data")
    engine.before_commit = None
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(attachment)).scalar() == 0
    assert engine.task(report).status == "open"
    assert "草稿" in client.get(page).get_data(as_text=True)         # the draft is still there


def test_the_diagram_state_marks_done_and_active_elements(client, report):
    login(client, "neike_head")
    task_page = client.get(f"/tasks/{report}").get_data(as_text=True)
    src = re.search(r'data-src="([^"]+)"', task_page).group(1)
    state = client.get(src).get_json()
    assert "<bpmn:definitions" in state["xml"] or "definitions" in state["xml"]
    assert state["active"] and not state["error"]
    assert any("start" in e.lower() for e in state["completed"])


def test_an_unknown_task_is_a_404_not_a_500(client, people):
    login(client, "nurse")
    assert client.get("/tasks/not-a-uuid").status_code == 404
    assert client.get("/tasks/00000000-0000-0000-0000-000000000000").status_code == 404


# --- administration -----------------------------------------------------------------------------

def test_admin_manages_staff_and_departments(client, people, db):
    login(client, "admin")
    assert client.get("/admin/staff").status_code == 200
    resp = post(client, "/admin/staff/new", {"username": "newbie", "name": "新同事", "department": "neike",
                                             "position_level": "other", "roles": ["staff"], "active": "1",
                                             "locale": "zh", "password": "first-pass-1"}, page="/admin/staff/new")
    assert resp.status_code == 302
    bad = post(client, "/admin/departments", {"code": "", "name_zh": "", "category": "x"}, page="/admin/departments")
    assert bad.status_code == 422 and "请填写科室代码" in bad.get_data(as_text=True)
    other = client.application.test_client()
    assert login(other, "newbie", "first-pass-1").status_code == 302


def test_admin_staff_search_matches_the_text_literally(client, people):
    login(client, "admin")
    found = client.get("/admin/staff?q=neike_head").get_data(as_text=True)
    assert "/admin/staff/neike_head" in found
    # a typed % is that character, not "anything": as a wildcard, neike% would find neike_head and
    # % alone would list everyone
    assert "/admin/staff/neike_head" not in client.get("/admin/staff?q=neike%25").get_data(as_text=True)
    assert "/admin/staff/" not in client.get("/admin/staff?q=%25").get_data(as_text=True).replace(
        "/admin/staff/new", "")


def test_admin_pages_are_for_admins_only(client, people):
    login(client, "neike_head")
    for path in ("/admin/staff", "/admin/departments", "/admin/calendar", "/admin/staff/new"):
        assert client.get(path).status_code == 403, path


def test_org_import_previews_row_errors_then_imports_with_progress(client, people, db):
    import io
    import time
    login(client, "admin")
    page = "/admin/import"
    bad = "用户名,姓名,科室,职级\nnew1,甲,neike,主任\nnew2,乙,nowhere,其他\n".encode()
    resp = post(client, page, {"file": (io.BytesIO(bad), "人员.csv")}, page=page, content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "第 2 行" in text and "第 3 行" in text and "确认导入" not in text
    good = "用户名,姓名,科室,职级,角色\nnew1,甲医生,neike,中层,职工\nnew2,乙护士,waike,其他,职工\n".encode()
    resp = post(client, page, {"file": (io.BytesIO(good), "人员.csv")}, page=page, content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "确认导入" in text
    token = re.search(r'/admin/import/([\w-]+)"', text).group(1)
    resp = post(client, f"/admin/import/{token}", page=page)
    assert resp.status_code == 302
    for _ in range(100):
        status = client.get(f"/admin/import/{token}/status").get_json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert status["state"] == "done" and status["done"] == status["total"] == 2
    with db.connect() as conn:
        names = dict(conn.execute(sa.select(staff.c.username, staff.c.name).where(staff.c.username.like("new%"))).all())
    assert names == {"new1": "甲医生", "new2": "乙护士"}
