"""The `qinglian` command line, as an operator uses it: readable output, --json, clear errors."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.cli.main import main
from engine.db.schema import process_instance, process_version
from tests.conftest import DATA


@pytest.fixture
def cli(db, forms_dir, tmp_path):
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False), "QINGLIAN_FORMS_DIR": str(forms_dir),
           "QINGLIAN_PROCESSES_DIR": str(tmp_path / "none")}
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result
    return run


def test_deploy_start_claim_complete_show(cli):
    out = cli("deploy", str(DATA / "bpmn" / "w1.bpmn"), "--as", "owner").output
    assert "w1_process v1 deployed" in out
    assert "w1_process v1 unchanged" in cli("deploy", str(DATA / "bpmn" / "w1.bpmn")).output
    view = json.loads(cli("--json", "start", "w1_process", "--as", "alice", "--data", '{"amount": 3}').output)
    assert view["status"] == "active" and view["data"] == {"amount": 3}
    task = view["tasks"][0]["id"]
    assert task in cli("tasks").output
    assert "claimed Fill" in cli("claim", task, "--as", "alice").output
    assert task in cli("tasks", "--user", "alice").output
    out = cli("complete", task, "--as", "alice", "--data", '{"approved": true}').output
    assert "status: active" in out and "Review" in out
    shown = cli("show", view["id"]).output
    assert "w1_process v1" in shown and "review_timer" in shown
    events = cli("events", view["id"]).output
    assert "task_completed" in events and "task_claimed" in events


def test_bad_input_is_named_and_changes_nothing(cli, db):
    cli("deploy", str(DATA / "bpmn" / "w1.bpmn"))
    r = cli("start", "w1_process", "--data", "{not json", ok=False)
    assert r.exit_code == 2 and "not valid JSON" in r.output
    r = cli("start", "w1_process", "--data", "[1, 2]", ok=False)
    assert r.exit_code == 2 and "must be a JSON object" in r.output
    r = cli("start", "nope", ok=False)
    assert r.exit_code == 2 and "process 'nope' is not deployed" in r.stderr
    r = cli("complete", "not-a-task", "--as", "x", ok=False)
    assert r.exit_code == 2 and "not a valid id" in r.stderr
    r = cli("deploy", str(DATA / "validation" / "three_problems.bpmn"), ok=False)
    assert r.exit_code == 2
    assert r.stderr.count("  - three_problems.bpmn:") >= 3
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(process_instance)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(process_version)).scalar() == 1


def test_incidents_and_retry(cli):
    cli("deploy", str(DATA / "bpmn" / "failing.bpmn"))
    view = json.loads(cli("--json", "start", "failing", "--data", '{"amount": 4, "divisor": 0}').output)
    assert view["status"] == "error"
    out = cli("incidents").output
    assert view["id"] in out and "task=calc line 2" in out and "division by zero" in out
    out = cli("retry", view["id"], "--as", "operator", "--data", '{"divisor": 4}').output
    assert "status: active" in out and "Check" in out
    assert cli("incidents").output.strip() == "no incidents"
    assert "resolved by operator" in cli("incidents", "--all").output


def test_the_same_problems_reach_the_cli_and_the_engine(cli, engine):
    from engine.errors import Invalid
    from engine.bpmn.validation import SourceFile
    path = DATA / "validation" / "three_problems.bpmn"
    with pytest.raises(Invalid) as err:
        engine.deploy([SourceFile(path.name, path.read_bytes())], deployed_by="x")
    r = cli("deploy", str(path), ok=False)
    for p in err.value.problems:
        assert f"  - {p}" in r.stderr


def test_send_back_and_withdraw_from_the_command_line(cli):
    cli("deploy", str(DATA / "bpmn" / "send_back.bpmn"))
    view = json.loads(cli("--json", "start", "send_back", "--as", "nurse").output)
    draft = view["tasks"][0]["id"]
    view = json.loads(cli("--json", "complete", draft, "--as", "nurse").output)
    review = view["tasks"][0]["id"]
    r = cli("send-back", review, "--as", "neike_head", "--reason", " ", ok=False)
    assert r.exit_code == 2 and "请填写退回原因" in r.stderr
    out = cli("send-back", review, "--as", "neike_head", "--reason", "请补充").output
    assert f"draft ({draft}, nurse)" in out
    view = json.loads(cli("--json", "complete", draft, "--as", "nurse").output)
    out = cli("withdraw", draft, "--as", "nurse", "--reason", "漏填").output
    assert f"draft ({draft}, nurse)" in out
    assert "task_sent_back" in cli("events", view["id"]).output


def test_a_signer_is_added_and_signs_from_the_command_line(cli, people):
    cli("deploy", str(DATA / "bpmn" / "send_back.bpmn"))
    view = json.loads(cli("--json", "start", "send_back", "--as", "nurse").output)
    view = json.loads(cli("--json", "complete", view["tasks"][0]["id"], "--as", "nurse").output)
    review = view["tasks"][0]["id"]
    cli("claim", review, "--as", "neike_head")
    r = cli("add-signer", review, "--as", "neike_head", "--signer", "nurse2", "--position", "before",
            "--reason", "请把关", ok=False)
    assert r.exit_code == 2 and "不在此步骤允许的范围内" in r.stderr         # nurse2 is no candidate
    added = json.loads(cli("--json", "add-signer", review, "--as", "neike_head", "--signer", "jijian",
                           "--position", "before", "--reason", "请纪检监察室先把关").output)
    [signature] = added["signers"]
    r = cli("complete", review, "--as", "neike_head", ok=False)
    assert r.exit_code == 3 and "尚未签署" in r.stderr
    r = cli("sign", str(signature["id"]), "--as", "jijian", "--disagree", ok=False)
    assert r.exit_code == 2 and "请写明意见" in r.stderr
    out = cli("sign", str(signature["id"]), "--as", "jijian", "--agree", "--opinion", "同意").output
    assert f"{signature['id']}  jijian  before  signed  同意" in out
    cli("complete", review, "--as", "neike_head")


@pytest.mark.real_forms
def test_bulk_from_the_command_line_reports_each_task_and_exits_3_when_one_fails(cli, people):
    from engine.config import PROJECT_ROOT
    cli("deploy", str(PROJECT_ROOT / "processes" / "monthly_report.bpmn"))
    reviews = []
    for month in (8, 9):
        view = json.loads(cli("--json", "start", "monthly_report", "--as", "jijian", "--business-key",
                              f"2026-0{month} 内科", "--data", '{"department": "neike", "department_name": "内科"}').output)
        view = json.loads(cli("--json", "complete", view["tasks"][0]["id"], "--as", "neike_head", "--data",
                              '{"month": "2026-09-01", "progress": "完成了全科廉洁教育"}').output)
        reviews.append(view["tasks"][0]["id"])
    out = cli("bulk", "claim", *reviews, "--as", "jijian").output
    assert out.count("  ok  ") == 2
    r = cli("bulk", "complete", reviews[0], "nope", "--as", "jijian", ok=False)
    assert r.exit_code == 3 and f"{reviews[0]}  ok" in r.output and "nope  refused: " in r.output
    out = cli("bulk", "release", reviews[1], "--as", "jijian").output
    assert f"{reviews[1]}  ok" in out


def test_a_drill_database_starts_its_clock_at_the_chosen_moment(cli):
    """Issue 25 item 9: seed 002's campaign is rehearsed from its first day, 2026-09-28 09:00 Beijing."""
    cli("init-db", "--sandbox", "--at", "2026-09-28T09:00+08:00")
    shown = json.loads(cli("--json", "clock", "show").output)
    assert shown["clock"] == "virtual (sandbox)"
    assert datetime.fromisoformat(shown["now"]) == datetime(2026, 9, 28, 1, 0, tzinfo=timezone.utc)
    cli("init-db", "--sandbox", "--at", "2026-10-08T09:00+08:00")      # run again: the clock moves on
    assert datetime.fromisoformat(json.loads(cli("--json", "clock", "show").output)["now"]).day == 8
    back = cli("init-db", "--sandbox", "--at", "2026-09-01T09:00+08:00", ok=False)
    assert back.exit_code == 2 and "only moves forward" in back.output


def test_at_is_refused_without_a_drill_database(cli):
    r = cli("init-db", "--at", "2026-09-28T09:00+08:00", ok=False)
    assert r.exit_code == 2 and "--sandbox" in r.output
    bad = cli("init-db", "--sandbox", "--at", "28/9", ok=False)
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_audit_analytics_brings_the_summaries_up_to_date_and_rebuilds_them(cli):
    cli("deploy", str(DATA / "bpmn" / "w1.bpmn"))
    view = json.loads(cli("--json", "start", "w1_process", "--as", "alice").output)
    cli("complete", view["tasks"][0]["id"], "--as", "alice", "--data", '{"approved": false}')
    assert "brought up to date 1 instances" in cli("audit", "analytics").output
    assert json.loads(cli("--json", "audit", "analytics").output) == {"instances": 0, "rebuilt": False}
    assert "rebuilt from 1 instances" in cli("audit", "analytics", "--rebuild").output
