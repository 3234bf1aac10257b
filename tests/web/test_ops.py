"""Operations endpoints as a load balancer, Prometheus and an operator see them: /healthz, /readyz,
/metrics, and JSON log lines that carry a request id and never a secret or a reporter's identity."""
from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import logging_setup
from engine.deadlines.scheduler import TimerScheduler
from tests.conftest import PASSWORD
from tests.web.test_api import MONTHLY_REPORT, NEIKE, VALID_REPORT  # noqa: F401
from tests.web.test_clue_pages import _public_post
from tests.web.test_clue_confidentiality import app  # noqa: F401  (fixture: the app with the test vault)
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def _monthly(engine):
    from engine.bpmn.validation import SourceFile
    engine.deploy([SourceFile(MONTHLY_REPORT.name, MONTHLY_REPORT.read_bytes())], deployed_by="owner")
    view = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科", data=NEIKE)
    return view.tasks[0].id


def _metric(text: str, name: str, **labels) -> float:
    """The sum of the samples of `name` with these labels in the exposition text (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:]+)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def test_healthz_answers_without_login_and_says_only_ok(app):
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


def test_readyz_waits_for_a_scheduler_heartbeat_and_reports_a_stale_one(app, engine, clock, office):
    c = app.test_client()
    resp = c.get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "not ready",
                               "checks": {"database": "ok", "schema": "ok", "scheduler": "none"}}
    TimerScheduler(engine, owner="sched-a").run_once()
    resp = c.get("/readyz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ready"
    clock.advance(timedelta(seconds=31))                 # the scheduler stopped ticking
    resp = c.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["scheduler"] == "stale"


def test_readyz_reports_a_schema_this_version_does_not_know(app, engine, db, office):
    TimerScheduler(engine, owner="sched-a").run_once()
    with db.begin() as conn:
        (old,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    try:
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503 and resp.get_json()["checks"]["schema"] == "mismatch"
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": old})


def test_metrics_count_tasks_timers_completions_and_requests_without_naming_anyone(app, engine, clock, office):
    from engine.bpmn.validation import SourceFile
    from tests.conftest import bpmn
    task_id = _monthly(engine)
    engine.deploy([SourceFile("wait_timer.bpmn", bpmn("wait_timer.bpmn"))], deployed_by="owner")
    c = app.test_client()
    before = c.get("/metrics").get_data(as_text=True)
    assert _metric(before, "qinglian_human_tasks_open") == 1
    assert _metric(before, "qinglian_instances", process="monthly_report") == 1

    resp = c.post("/api/v1/auth/token", json={"username": "neike_head", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {resp.get_json()['token']}"}
    assert c.post(f"/api/v1/tasks/{task_id}/complete", json={"data": VALID_REPORT}, headers=bearer).status_code == 200
    timer_instance = engine.start("wait_timer", started_by="jijian")
    clock.advance(timedelta(days=30))

    text = c.get("/metrics").get_data(as_text=True)
    assert _metric(text, "qinglian_task_completion_seconds_count", process="monthly_report") == \
        _metric(before, "qinglian_task_completion_seconds_count", process="monthly_report") + 1
    assert _metric(text, "qinglian_http_request_duration_seconds_count",
                   method="POST", route="/api/v1/tasks/<task_id>/complete") >= 1
    assert _metric(text, "qinglian_human_tasks_open") == 1          # the review task, now overdue
    assert _metric(text, "qinglian_human_tasks_overdue") == 1
    assert _metric(text, "qinglian_timers_due") == 1
    assert _metric(text, "qinglian_timers_oldest_due_seconds") > 0

    fired_before = _metric(text, "qinglian_timer_firing_lag_seconds_count")
    TimerScheduler(engine, owner="sched-a").run_once()
    text = c.get("/metrics").get_data(as_text=True)
    assert engine.show(timer_instance.id).status == "completed"
    assert _metric(text, "qinglian_instances", process="wait_timer", status="completed") == 1
    assert _metric(text, "qinglian_timers_due") == 0
    assert _metric(text, "qinglian_timer_firing_lag_seconds_count") == fired_before + 1
    assert _metric(text, "qinglian_scheduler_fired", owner="sched-a") == 1
    assert _metric(text, "qinglian_scheduler_heartbeat_age_seconds", owner="sched-a") == 0
    for who in ("neike_head", "jijian", "张主任", "陈纪检", task_id, timer_instance.id):
        assert who not in text


def test_metrics_can_be_limited_to_the_scrapers_addresses(app, monkeypatch):
    from web import observability
    monkeypatch.setenv("QINGLIAN_METRICS_ALLOW", "10.0.0.0/8")
    from engine.config import Settings
    from web import create_app
    restricted = create_app(Settings.from_env(), engine=app.extensions["qinglian"], testing=True, secret_key="t")
    assert restricted.test_client().get("/metrics").status_code == 404          # 127.0.0.1 is not allowed
    ok = restricted.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200 and b"qinglian_human_tasks_open" in ok.data
    assert observability._allowed("10.1.2.3", observability._networks("10.0.0.0/8"))


def test_metrics_are_for_the_loopback_addresses_only_when_no_scraper_is_configured(app, monkeypatch):
    monkeypatch.delenv("QINGLIAN_METRICS_ALLOW", raising=False)
    from engine.config import Settings
    from web import create_app
    default = create_app(Settings.from_env(), engine=app.extensions["qinglian"], testing=True, secret_key="t")
    assert default.test_client().get("/metrics").status_code == 200                  # from 127.0.0.1
    assert default.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    outside = default.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outside.status_code == 404 and b"qinglian_" not in outside.data


@pytest.fixture
def json_log():
    """Every log line of the test as JSON, at DEBUG (the most a misconfigured server would write)."""
    quieted = ("werkzeug", "sqlalchemy", "spiff")
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *quieted)}
    buf = io.StringIO()
    handler = logging_setup.configure("DEBUG", stream=buf)
    yield buf
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_logs_are_json_lines_with_request_ids_and_no_secrets_form_contents_or_reporters(
        app, engine, clues, clock, json_log):
    secrets = {"password": PASSWORD, "reporter": "欧阳举报人", "contact": "13712345678",
               "form": "第三季度排查之秘密内容", "opinion": "研判意见之机密措辞"}
    c = app.test_client()
    # the public report page: a reporter's name and phone, and the facts
    resp = _public_post(c, clock, reporter_name=secrets["reporter"], reporter_contact=secrets["contact"])
    assert resp.status_code == 200
    # a password at sign-in, and a wrong one
    assert login(c, "jijian").status_code == 302
    assert login(app.test_client(), "jijian", "wrong-" + PASSWORD).status_code == 401
    # an API token, issued and then used, with form contents
    token = c.post("/api/v1/auth/token", json={"username": "neike_head", "password": PASSWORD}).get_json()["token"]
    task_id = _monthly(engine)
    report = dict(VALID_REPORT, progress=secrets["form"])
    resp = c.post(f"/api/v1/tasks/{task_id}/complete", json={"data": report},
                  headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-from-balancer-42"})
    assert resp.status_code == 200 and resp.headers["X-Request-ID"] == "req-from-balancer-42"
    # a clue page: the registered clue's file with its reporter
    reg = clues.register(reporter=(secrets["reporter"], secrets["contact"]))
    revealed = post(c, f"/clues/{reg.instance_id}/reporter", page=f"/clues/{reg.instance_id}")
    assert revealed.status_code == 200 and secrets["reporter"] in revealed.get_data(as_text=True)

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines, "nothing was logged"
    text = json_log.getvalue()
    for name, value in {**secrets, "token": token}.items():
        assert value not in text, f"the {name} reached the log"
    access = [entry for entry in lines if entry["logger"] == "qinglian.access"]
    reports = [e for e in access if e["route"] == "/report" and e["method"] == "POST"]
    assert reports and reports[0]["status"] == 200 and "path" not in reports[0]
    completion = [e for e in access if e.get("route") == "/api/v1/tasks/<task_id>/complete"]
    assert completion and completion[0]["request_id"] == "req-from-balancer-42" and completion[0]["status"] == 200
    engine_line = [e for e in lines if e["logger"] == "engine.runtime.services" and e["msg"] == "task completed"]
    assert engine_line and engine_line[-1]["request_id"] == "req-from-balancer-42"   # carried into the engine
    assert engine_line[-1]["task_id"] == task_id
    assert all("request_id" in e for e in access)
