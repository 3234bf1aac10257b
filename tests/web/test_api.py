"""The REST API at /api/v1, on SQLite and PostgreSQL: bearer tokens, the monthly report from start to
review, the JSON errors, who may call what, and the OpenAPI document."""
from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest

from engine import config
from engine.org import accounts
from engine.db.transactions import write_transaction
from engine.bpmn.validation import SourceFile
from tests.conftest import PASSWORD
from tests.helpers.web import login

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

API = "/api/v1"
MONTHLY_REPORT = config.PROJECT_ROOT / "processes" / "monthly_report.bpmn"
NEIKE = {"department": "neike", "department_name": "内科"}
WAIKE = {"department": "waike", "department_name": "外科"}
VALID_REPORT = {"month": "2026-09-01", "progress": "完成第三季度廉洁风险排查，共 12 项。",
                "problems": "个别科室台账不全。", "next_plan": "十月开展专项检查。"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def tokens(engine, people):
    """A bearer token for everyone in `people`, issued straight from the engine (fast: no password hashing)."""
    with write_transaction(engine.db) as conn:
        return {u: accounts.issue_token(conn, u, engine.clock.now())[0] for u in people}


@pytest.fixture
def api(client, tokens, engine):
    """`api(method, path, user=None, **kwargs)`: call the API as `user` (anonymous when None)."""
    def call(method: str, path: str, user: str | None = None, *, headers=None, **kwargs):
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {tokens[user]}"
        return client.open(API + path, method=method, headers=headers, **kwargs)
    call.engine = engine
    call.tokens = tokens
    return call


@pytest.fixture
def monthly(engine, people):
    """The monthly report deployed, and one started for 内科 by the discipline office: a 'fill in' task for
    the head of 内科."""
    engine.deploy([SourceFile(MONTHLY_REPORT.name, MONTHLY_REPORT.read_bytes())], deployed_by="owner")
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科", data=NEIKE)
    (task,) = view.tasks
    return {"instance_id": view.id, "task_id": task.id}


def assert_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) >= {"code", "message", "fields"}, body
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


# --- tokens -----------------------------------------------------------------------------------------

def test_a_token_is_issued_for_a_correct_password_used_as_bearer_and_revoked(client, people):
    resp = client.post(f"{API}/auth/token", json={"username": "nurse", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.get_json()["token"]
    assert resp.get_json()["expires_at"].startswith("2026-09-28T13:00:00")     # 12 hours after the fixed clock
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/tasks", headers=bearer).status_code == 200

    assert client.delete(f"{API}/auth/token", headers=bearer).status_code == 204
    resp = client.get(f"{API}/tasks", headers=bearer)
    assert_error(resp, 401, "invalid_token")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_a_token_expires_after_twelve_hours(client, people, clock):
    token = client.post(f"{API}/auth/token", json={"username": "nurse", "password": PASSWORD}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    clock.advance(timedelta(hours=11, minutes=59))
    assert client.get(f"{API}/tasks", headers=bearer).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert_error(client.get(f"{API}/tasks", headers=bearer), 401, "invalid_token")


def test_a_wrong_password_is_401_and_five_in_a_row_lock_the_account(client, people, clock):
    for _ in range(accounts.MAX_FAILURES):
        body = assert_error(client.post(f"{API}/auth/token", json={"username": "nurse", "password": "wrong"}), 401,
                            "authentication_failed")
        assert body["message"] == "用户名或密码错误"
    locked = client.post(f"{API}/auth/token", json={"username": "nurse", "password": PASSWORD})
    assert "锁定" in assert_error(locked, 401)["message"]
    clock.advance(accounts.LOCKOUT + timedelta(seconds=1))
    assert client.post(f"{API}/auth/token", json={"username": "nurse", "password": PASSWORD}).status_code == 201


def test_an_unknown_user_gets_the_same_401_as_a_wrong_password(client, people):
    body = assert_error(client.post(f"{API}/auth/token", json={"username": "nobody", "password": "x"}), 401)
    assert body["message"] == "用户名或密码错误"


def test_without_a_token_the_api_answers_401_with_a_bearer_challenge(api, people):
    resp = api("GET", "/tasks")
    assert_error(resp, 401, "token_required")
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="qinglian"'
    assert_error(api("GET", "/tasks", headers={"Authorization": "Basic bnVyc2U6eA=="}), 401)


def test_the_pages_session_cookie_does_not_open_the_api(client, people):
    assert login(client, "neike_head").status_code == 302
    assert client.get("/inbox").status_code == 200
    assert_error(client.get(f"{API}/tasks"), 401)
    assert_error(client.post(f"{API}/instances", json={"process_key": "monthly_report"}), 401)


# --- the monthly report, end to end -------------------------------------------------------------------

def test_monthly_report_from_deploy_to_review(api, engine):
    xml = MONTHLY_REPORT.read_text(encoding="utf-8")
    resp = api("POST", "/processes", "owner", json={"files": [{"name": "monthly_report.bpmn", "xml": xml}],
                                                    "note": "first version"})
    assert resp.status_code == 201, resp.get_json()
    (deployed,) = resp.get_json()["versions"]
    assert deployed["process_key"] == "monthly_report" and deployed["version"] == 1 and deployed["created"]

    listed = api("GET", "/processes", "nurse").get_json()["items"]
    assert [(p["key"], p["latest"]["version"], len(p["versions"])) for p in listed] == [("monthly_report", 1, 1)]
    assert api("GET", "/processes/monthly_report", "nurse").get_json()["latest"]["note"] == "first version"

    resp = api("POST", "/instances", "jijian", json={"process_key": "monthly_report", "business_key": "2026-09 内科",
                                                     "data": NEIKE})
    assert resp.status_code == 201, resp.get_json()
    instance = resp.get_json()
    assert instance["status"] == "active" and instance["started_by"] == "jijian"
    (fill,) = instance["tasks"]
    assert (fill["candidate_role"], fill["candidate_department"]) == ("department_head", "neike")

    # the head of 内科 finds it among the tasks they may claim, not the nurse
    page = api("GET", "/tasks?view=claimable", "neike_head").get_json()
    assert [t["id"] for t in page["items"]] == [fill["id"]] and page["total"] == 1
    assert page["items"][0]["business_key"] == "2026-09 内科"
    assert api("GET", "/tasks?view=claimable", "nurse").get_json()["total"] == 0

    detail = api("GET", f"/tasks/{fill['id']}", "neike_head").get_json()
    assert detail["form"]["title"] == "月度工作进展报告" and detail["can_work"] is True

    claimed = api("POST", f"/tasks/{fill['id']}/claim", "neike_head")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "neike_head"
    assert [t["id"] for t in api("GET", "/tasks?view=mine", "neike_head").get_json()["items"]] == [fill["id"]]

    comment = api("POST", f"/tasks/{fill['id']}/comments", "neike_head", json={"body": "本月数据以台账为准。"})
    assert comment.status_code == 201 and comment.get_json()["author"] == "neike_head"
    thread = api("GET", f"/tasks/{fill['id']}/comments", "neike_head").get_json()["items"]
    assert [c["body"] for c in thread] == ["本月数据以台账为准。"]

    done = api("POST", f"/tasks/{fill['id']}/complete", "neike_head", json={"data": VALID_REPORT})
    assert done.status_code == 200, done.get_json()
    (review,) = done.get_json()["tasks"]
    assert review["element_id"] == "review_report" and review["candidate_role"] == "discipline_office"

    # the discipline office finds the review; the head of 内科 finds the report among what they did
    assert [t["id"] for t in api("GET", "/tasks?view=claimable", "jijian").get_json()["items"]] == [review["id"]]
    assert [t["id"] for t in api("GET", "/tasks?view=done", "neike_head").get_json()["items"]] == [fill["id"]]

    shown = api("GET", f"/instances/{instance['id']}", "jijian").get_json()
    assert shown["data"]["progress"] == VALID_REPORT["progress"]
    events = api("GET", f"/instances/{instance['id']}/events", "jijian").get_json()["items"]
    types = [e["type"] for e in events]
    assert types[0] == "instance_started" and "task_claimed" in types and "task_completed" in types
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_invalid_report_data_is_422_with_a_chinese_message_per_field(api, monthly):
    task = monthly["task_id"]
    api("POST", f"/tasks/{task}/claim", "neike_head")
    resp = api("POST", f"/tasks/{task}/complete", "neike_head",
               json={"data": {"month": "not a date", "colour": "red"}})
    body = assert_error(resp, 422, "invalid")
    assert set(body["fields"]) == {"month", "progress", "colour"}
    assert all(CJK.search(message) for message in body["fields"].values()), body["fields"]
    assert api("GET", f"/tasks/{task}", "neike_head").get_json()["status"] == "open"


def test_completing_twice_is_a_conflict(api, monthly):
    task = monthly["task_id"]
    assert api("POST", f"/tasks/{task}/complete", "neike_head", json={"data": VALID_REPORT}).status_code == 200
    body = assert_error(api("POST", f"/tasks/{task}/complete", "neike_head", json={"data": VALID_REPORT}), 409)
    assert body["code"] == "task_already_completed"
    assert_error(api("POST", f"/tasks/{task}/claim", "neike_head"), 409, "task_already_completed")


def test_a_task_claimed_by_a_colleague_is_a_conflict_for_another_candidate(api, engine, people, monthly):
    from engine.org import people as org
    with write_transaction(engine.db) as conn:          # a second head for 内科's lane: the deputy
        org.save_staff(conn, {"username": "deputy", "name": "钱副主任", "department": "neike",
                              "roles": ["staff", "department_head"]}, engine.clock.now())
        deputy = accounts.issue_token(conn, "deputy", engine.clock.now())[0]
    task = monthly["task_id"]
    api("POST", f"/tasks/{task}/claim", "neike_head")
    resp = api("POST", f"/tasks/{task}/claim", headers={"Authorization": f"Bearer {deputy}"})
    assert assert_error(resp, 409, "task_claimed_by_other")["assignee"] == "neike_head"


def test_handing_over_checks_the_colleague_and_the_reason(api, monthly, engine):
    task = monthly["task_id"]
    api("POST", f"/tasks/{task}/claim", "neike_head")
    body = assert_error(api("POST", f"/tasks/{task}/delegate", "neike_head", json={"to": "ghost", "reason": " "}),
                        422, "invalid")
    assert body["fields"] == {"to": "请选择在职的同事", "reason": "请填写原因"}
    body = assert_error(api("POST", f"/tasks/{task}/delegate", "neike_head",
                            json={"to": "neike_head", "reason": "x"}), 422)
    assert body["fields"] == {"to": "不能转交给自己"}

    body = assert_error(api("POST", f"/tasks/{task}/delegate", "neike_head", json={"to": "nurse", "reason": "出差一周"}),
                        422)                            # a nurse is not in the lane of a head's task
    assert "不在此任务的办理范围内" in body["fields"]["to"]
    from engine.org import people as org
    with write_transaction(engine.db) as conn:          # a second head for 内科's lane: the deputy
        org.save_staff(conn, {"username": "deputy", "name": "钱副主任", "department": "neike",
                              "roles": ["staff", "department_head"]}, engine.clock.now())
    resp = api("POST", f"/tasks/{task}/transfer", "neike_head", json={"to": "deputy", "reason": "出差一周"})
    assert resp.status_code == 200 and resp.get_json()["assignee"] == "deputy"
    body = assert_error(api("POST", f"/tasks/{task}/reassign", "neike_head", json={"to": "nurse2", "reason": "轮岗"}),
                        422)
    assert "不在此任务的办理范围内" in body["fields"]["to"] and api.engine.task(task).assignee == "deputy"


def test_a_delegate_resolves_through_the_api_and_the_task_returns_to_its_owner(api, monthly):
    task = monthly["task_id"]
    _delegated_to_deputy(api, monthly)
    filled = {"progress": "副主任代为整理：完成排查 12 项。"}
    assert_error(api("POST", f"/tasks/{task}/resolve", "deputy", json={"data": "x"}), 422)        # schema
    assert_error(api("POST", f"/tasks/{task}/resolve", "deputy", json={"data": {}, "note": "x" * 2001}), 422)
    body = assert_error(api("POST", f"/tasks/{task}/resolve", "neike_head", json={}), 409, "task_claimed_by_other")
    assert body["assignee"] == "deputy"                                  # the owner waits for the delegate
    resp = api("POST", f"/tasks/{task}/resolve", "deputy", json={"data": filled, "note": "请主任审定"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["assignee"], body["status"]) == ("neike_head", "open")
    assert_error(api("POST", f"/tasks/{task}/resolve", "neike_head", json={}), 409)   # nothing delegated now
    resolved = [e for e in api.engine.events(monthly["instance_id"]) if e["type"] == "task_resolved"]
    assert [(e["actor"], e["data"]["to"], e["data"]["note"], e["data"]["data"]["progress"]) for e in resolved] == [
        ("deputy", "neike_head", "请主任审定", filled["progress"])]
    resp = api("POST", f"/tasks/{task}/complete", "neike_head", json={"data": VALID_REPORT})
    assert resp.status_code == 200 and api.engine.task(task).completed_by == "neike_head"


def test_resolving_a_task_that_was_not_delegated_is_a_conflict(api, monthly):
    task = monthly["task_id"]
    _claim(api, monthly)
    body = assert_error(api("POST", f"/tasks/{task}/resolve", "neike_head", json={}), 409)
    assert CJK.search(body["message"])


# --- bad input is a 4xx with {code, message, fields}, never a 500 -----------------------------------------

def test_malformed_json_is_400(api, people):
    resp = api("POST", "/instances", "jijian", data="{not json", content_type="application/json")
    assert_error(resp, 400, "bad_request")


def test_wrong_types_and_unknown_fields_are_422_naming_each_field(api, people):
    resp = api("POST", "/instances", "jijian", json={"process_key": 7, "version": "2", "data": [], "colour": "red"})
    body = assert_error(resp, 422, "invalid")
    assert set(body["fields"]) == {"process_key", "version", "data", "colour"}
    assert body["fields"]["colour"] == "未知字段"
    body = assert_error(api("POST", "/instances", "jijian", json=["monthly_report"]), 422)
    assert body["fields"] == {"_": "应为 JSON 对象"}
    body = assert_error(api("POST", "/instances", "jijian", json={}), 422)
    assert body["fields"] == {"process_key": "必填"}
    body = assert_error(api("GET", "/tasks?view=everything&page=0&per_page=7", "nurse"), 422)
    assert set(body["fields"]) == {"view", "page", "per_page"}


def test_text_the_database_cannot_store_is_422(api, monthly):
    body = assert_error(api("POST", f"/tasks/{monthly['task_id']}/comments", "neike_head", json={"body": "a\x00b"}),
                        422)
    assert body["fields"] == {"body": "含有无法保存的字符"}
    assert_error(api("GET", "/tasks?q=%00", "nurse"), 422)
    assert_error(api("GET", "/processes/x%00y", "nurse"), 404)


@pytest.mark.parametrize("body, status, field", [
    ("[" * 100_000 + "]" * 100_000, 400, None),                                 # past Python's recursion limit
    ('{"process_key": "monthly_report", "version": ' + "9" * 5000 + "}", 400, None),   # past its digit limit
    ('{"process_key": "monthly_report", "version": 99999999999}', 422, "version"),
    ('{"process_key": "monthly_report", "data": {"x": NaN}}', 422, "data"),
    ('{"process_key": "monthly_report", "data": {"x": 1e999}}', 422, "data"),
    ('{"process_key": "monthly_report", "data": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", 422, "data"),
    ('{"process_key": "monthly_report", "business_key": "\\ud800"}', 422, "business_key"),
])
def test_json_that_python_reads_but_the_databases_cannot_keep_is_refused(api, people, body, status, field):
    resp = api("POST", "/instances", "jijian", data=body, content_type="application/json")
    fields = assert_error(resp, status)["fields"]
    if field is not None:
        assert list(fields) == [field] and CJK.search(fields[field]), fields


@pytest.mark.parametrize("path", ["/tasks/not-a-uuid", "/tasks/00000000-0000-4000-8000-000000000000",
                                  "/instances/42", "/instances/00000000-0000-4000-8000-000000000000/events",
                                  "/processes/no_such_process"])
def test_unknown_and_malformed_ids_are_404(api, people, path):
    assert_error(api("GET", path, "admin"), 404, "not_found")


def test_unknown_routes_and_methods_answer_json(api, people):
    assert_error(api("GET", "/nothing-here", "admin"), 404)
    assert_error(api("PUT", "/tasks", "admin"), 405)


def test_an_invalid_deployment_is_422_keyed_by_element_with_every_problem(api, people):
    xml = MONTHLY_REPORT.read_text(encoding="utf-8").replace('value="monthly_report" />', 'value="no_such_form" />')
    resp = api("POST", "/processes", "owner", json={"files": [{"name": "monthly_report.bpmn", "xml": xml},
                                                              {"name": "broken.bpmn", "xml": "<definitions"}]})
    body = assert_error(resp, 422, "invalid")
    assert "fill_report" in body["fields"] and "broken.bpmn" in body["fields"]
    assert len(body["problems"]) >= 2
    assert all("message" in p for p in body["problems"])
    assert any(p.get("element_id") == "fill_report" and p.get("line") for p in body["problems"])


# --- who may call what --------------------------------------------------------------------------------

def _claim(api, ids):
    assert api("POST", f"/tasks/{ids['task_id']}/claim", "neike_head").status_code == 200


def _with_deputy(api, ids):
    """A second head for 内科 (the deputy): someone the head's task may be handed to."""
    from engine.org import people as org
    engine = api.engine
    with write_transaction(engine.db) as conn:
        org.save_staff(conn, {"username": "deputy", "name": "钱副主任", "department": "neike",
                              "roles": ["staff", "department_head"]}, engine.clock.now())


def _claim_with_deputy(api, ids):
    _with_deputy(api, ids)
    _claim(api, ids)


def _delegated_to_deputy(api, ids):
    """内科's head delegated the report to the deputy (委托), who holds it now and has a token."""
    _claim_with_deputy(api, ids)
    with write_transaction(api.engine.db) as conn:
        api.tokens["deputy"] = accounts.issue_token(conn, "deputy", api.engine.clock.now())[0]
    resp = api("POST", f"/tasks/{ids['task_id']}/delegate", "neike_head", json={"to": "deputy", "reason": "出差"})
    assert resp.status_code == 200


def _numbered(api, ids):
    """内科's monthly report generated once: 文号 X纪报〔2026〕1号 given out."""
    from engine.documents import service as documents
    from engine.org.people import principal
    with write_transaction(api.engine.db) as conn:
        head = principal(conn, "neike_head")
    documents.generate(api.engine, head, ids["task_id"], "月度工作进展报告")


def _second_version(api, ids):
    """A version 2 of the monthly report that only renames its start event: the instance may move."""
    xml = MONTHLY_REPORT.read_text(encoding="utf-8").replace("月报开始", "月报开始 v2")
    assert api("POST", "/processes", "owner", json={"files": [{"name": MONTHLY_REPORT.name, "xml": xml}]}).status_code == 201


def _filled(api, ids):
    """内科's head has filled in the report: the review is the discipline office's ({task} becomes it)."""
    assert api("POST", f"/tasks/{ids['task_id']}/complete", "neike_head", json={"data": VALID_REPORT}).status_code == 200
    ids["filled"] = ids["task_id"]
    ids["task_id"] = api("GET", f"/instances/{ids['instance_id']}", "jijian").get_json()["tasks"][0]["id"]


def _filled_untouched(api, ids):
    _filled(api, ids)
    ids["task_id"] = ids.pop("filled")


def _allow_signers(api, ids):
    """Version 2 of the monthly report lets the step add the discipline office as a signer (加签)."""
    xml = MONTHLY_REPORT.read_text(encoding="utf-8").replace(
        '<spiffworkflow:property name="formKey" value="monthly_report" />',
        '<spiffworkflow:property name="formKey" value="monthly_report" />'
        '<spiffworkflow:property name="addSignerCandidates" value="discipline_office" />')
    assert api("POST", "/processes", "owner", json={"files": [{"name": MONTHLY_REPORT.name, "xml": xml}]}).status_code == 201
    view = api("POST", "/instances", "jijian", json={"process_key": "monthly_report", "data": NEIKE,
                                                     "business_key": "2026-10 内科"}).get_json()   # next month's
    ids["task_id"] = view["tasks"][0]["id"]


def _signer_added(api, ids):
    _allow_signers(api, ids)
    body = {"signer": "jijian", "position": "before", "reason": "请先把关"}
    resp = api("POST", f"/tasks/{ids['task_id']}/signers", "neike_head", json=body)
    ids["signature"] = resp.get_json()["signers"][0]["id"]


# (method, path, json body, setup, users answered 403, users answered 2xx); {task} and {instance} are filled in.
MATRIX = [
    ("DELETE", "/auth/token", None, None, [], ["nurse"]),
    ("GET", "/processes", None, None, [], ["nurse", "auditor"]),
    ("GET", "/processes/monthly_report", None, None, [], ["surgeon"]),
    ("POST", "/processes", "deploy", None, ["nurse", "jijian", "auditor", "neike_head"], ["owner", "admin"]),
    ("POST", "/processes/validate", "deploy", None, ["nurse", "jijian", "auditor"], ["owner", "admin"]),
    ("POST", "/instances", "start", None, ["nurse", "neike_head", "auditor"], ["jijian", "owner", "admin"]),
    ("POST", "/instances/{instance}/migrate", {}, _second_version, ["nurse", "jijian", "auditor"], ["owner", "admin"]),
    ("GET", "/instances/{instance}", None, None, ["surgeon", "waike_head", "nurse"],
     ["neike_head", "jijian", "auditor", "admin"]),
    ("GET", "/instances/{instance}/events", None, None, ["surgeon", "waike_head", "nurse"],
     ["neike_head", "jijian", "auditor", "admin"]),
    ("GET", "/tasks", None, None, [], ["nurse", "neike_head", "admin"]),
    ("GET", "/tasks/{task}", None, None, ["surgeon", "waike_head", "nurse", "owner"],
     ["neike_head", "auditor", "jijian", "admin"]),
    ("POST", "/tasks/{task}/claim", None, None, ["surgeon", "nurse", "auditor", "jijian"], ["neike_head"]),
    ("POST", "/tasks/{task}/unclaim", None, _claim, ["surgeon", "waike_head"], ["neike_head"]),
    ("POST", "/tasks/{task}/delegate", {"to": "deputy", "reason": "出差"}, _claim_with_deputy,
     ["surgeon", "auditor", "admin"], ["neike_head"]),
    ("POST", "/tasks/{task}/resolve", {"note": "已填好"}, _delegated_to_deputy,
     ["surgeon", "nurse", "auditor", "admin"], ["deputy"]),
    ("POST", "/tasks/{task}/transfer", {"to": "deputy", "reason": "出差"}, _claim_with_deputy,
     ["surgeon", "auditor", "admin"], ["neike_head"]),
    ("POST", "/tasks/{task}/reassign", {"to": "deputy", "reason": "轮岗"}, _with_deputy, ["nurse", "auditor", "jijian"],
     ["neike_head", "admin"]),
    ("POST", "/tasks/{task}/recuse", {"reason": "申报人是我的近亲属"}, None, ["surgeon", "waike_head", "auditor"],
     ["neike_head"]),
    ("POST", "/tasks/{task}/complete", {"data": VALID_REPORT}, None, ["surgeon", "nurse", "auditor", "admin"],
     ["neike_head"]),
    ("GET", "/tasks/{task}/comments", None, None, ["surgeon", "waike_head"], ["neike_head", "auditor", "jijian"]),
    ("POST", "/tasks/{task}/comments", {"body": "请按时填报"}, None, ["surgeon", "waike_head"],
     ["neike_head", "jijian", "admin"]),
    ("POST", "/tasks/{task}/send-back", {"reason": "请补充"}, _filled, ["surgeon", "nurse", "neike_head"], ["jijian"]),
    ("POST", "/tasks/{task}/withdraw", {}, _filled_untouched, ["surgeon", "waike_head", "jijian"], ["neike_head"]),
    ("POST", "/tasks/{task}/urge", {"message": "请今日提交"}, None, ["surgeon", "nurse", "waike_head", "auditor"],
     ["jijian", "neike_head"]),
    ("POST", "/tasks/{task}/copies", {"to": ["nurse"]}, None, ["surgeon", "waike_head", "auditor"],
     ["neike_head", "jijian"]),
    ("GET", "/copies", None, None, [], ["nurse", "auditor"]),
    ("GET", "/document-numbers", None, None, ["nurse", "auditor", "admin", "neike_head"], ["jijian"]),
    ("POST", "/document-numbers/报/2026/1/void", {"reason": "重复制发"}, _numbered,
     ["nurse", "auditor", "admin", "neike_head"], ["jijian"]),
    ("POST", "/tasks/bulk", {"action": "claim", "task_ids": ["x"]}, None, [], ["nurse", "neike_head"]),
    ("POST", "/tasks/{task}/signers", {"signer": "jijian", "position": "before", "reason": "请先把关"}, _allow_signers,
     ["surgeon", "nurse", "auditor"], ["neike_head"]),
    ("POST", "/signatures/{signature}", {"agree": True}, _signer_added, [], ["jijian"]),
]
CASES = [pytest.param(method, path, body, setup, user, expected, id=f"{method} {path} as {user or 'anonymous'}")
         for method, path, body, setup, forbidden, allowed in MATRIX
         for user, expected in [(None, 401), *((u, 403) for u in forbidden), *((u, 200) for u in allowed)]]


@pytest.mark.parametrize("method, path, body, setup, user, expected", CASES)
def test_who_may_call_what(api, monthly, method, path, body, setup, user, expected):
    if setup is not None:
        setup(api, monthly)
    if body == "deploy":
        body = {"files": [{"name": MONTHLY_REPORT.name,
                           "xml": MONTHLY_REPORT.read_text(encoding="utf-8").replace("月报开始", "月报开始 v2")}]}
    elif body == "start":          # (内科 has its report open already: one per department and period)
        body = {"process_key": "monthly_report", "data": WAIKE}
    resp = api(method, path.format(task=monthly["task_id"], instance=monthly["instance_id"],
                                   signature=monthly.get("signature")), user, json=body)
    if expected == 200:
        assert 200 <= resp.status_code < 300, resp.get_data(as_text=True)
    else:
        assert_error(resp, expected)


def test_every_route_of_the_api_is_in_the_matrix_and_in_the_document(app, client):
    documented = {(method.upper(), path.removeprefix(API))
                  for path, operations in client.get(f"{API}/openapi.json").get_json()["paths"].items()
                  for method in operations if method != "parameters"}
    routed = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix(API))
              for rule in app.url_map.iter_rules() if rule.rule.startswith(API) and not rule.rule.endswith(".json")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    in_matrix = {(m, re.sub(r"\{(task|instance|signature)\}", r"{\1_id}", p).replace("/processes/monthly_report",
                                                                          "/processes/{key}")
                  .replace("/报/2026/1/", "/{kind}/{year}/{number}/"))
                 for m, p, *_ in MATRIX}
    assert documented - {("POST", "/auth/token")} == in_matrix


# --- the OpenAPI document -------------------------------------------------------------------------------

def test_the_openapi_document_validates_and_documents_each_operation(client):
    from schemathesis.specs.openapi.definitions import OPENAPI_30
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    jsonschema.Draft4Validator(OPENAPI_30).validate(doc)
    assert doc["openapi"] == "3.0.3"
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "a token from POST /api/v1/auth/token"}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            if method == "parameters":
                continue
            codes = set(op["responses"])
            success = [c for c in codes if c.startswith("2")]
            assert success, (method, path)
            assert all("content" in op["responses"][c] or c == "204" for c in success), (method, path)
            if (method, path) == ("post", f"{API}/auth/token"):
                assert "security" not in op and {"401", "422"} <= codes
            else:
                assert op["security"] == [{"bearerAuth": []}] and {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in op:
                assert "422" in codes, (method, path)
    start = doc["paths"][f"{API}/instances"]["post"]
    assert start["x-roles"] == ["discipline_office", "process_owner", "admin"]
    assert "`discipline_office`" in start["description"]
    refs = re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', resp.get_data(as_text=True))
    assert all(name in doc["components"][kind] for kind, name in refs)


def test_the_pages_keep_their_own_error_pages(client, people):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"


def test_an_api_start_is_checked_by_the_start_form_like_the_page(api, monthly):
    # issue 20 item 9: the API start skipped the start form, so a monthly report went to no department
    missing = assert_error(api("POST", "/instances", "jijian", json={"process_key": "monthly_report", "data": {}}), 422)
    assert "department" in missing["fields"]
    unknown = api("POST", "/instances", "jijian", json={"process_key": "monthly_report",
                                                        "data": {"department": "no_such_department"}})
    assert unknown.status_code == 422 and "department" in unknown.get_json()["fields"]
    twin = api("POST", "/instances", "jijian", json={"process_key": "monthly_report", "data": NEIKE})
    assert twin.status_code == 422 and "department" in twin.get_json()["fields"]    # 内科 has its report already
    ok = api("POST", "/instances", "jijian", json={"process_key": "monthly_report", "data": WAIKE})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["tasks"][0]["candidate_department"] == "waike"
