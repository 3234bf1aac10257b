"""Logs are kept at least 180 days (等保 2.0 level 3): the retention job deletes only operational rows
older than the configured period — ended sessions, expired tokens, stale sign-in counters, rate-limit
windows, delivered messages — never a chained event; each run is itself on the administration chain."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.audit import retention
from engine.audit import verify as audit
from engine.bootstrap import scheduled_jobs
from engine.config import Settings, SettingsError
from engine.db.schema import (api_token, event, login_attempt, message_outbox, notification, public_throttle,
                              staff, web_session)
from engine.errors import Invalid
from engine.org.admin_log import ADMIN_CHAIN

pytestmark = pytest.mark.both_databases


def _fill(db, at, tag):
    """One row of each operational kind, last used at `at`."""
    with db.begin() as conn:
        conn.execute(web_session.insert().values(id_hash=f"s-{tag}", username="zhang", created_at=at,
                                                 last_seen_at=at, expires_at=at + timedelta(hours=12)))
        conn.execute(api_token.insert().values(token_hash=f"t-{tag}", username="zhang", created_at=at,
                                               expires_at=at + timedelta(hours=12)))
        conn.execute(login_attempt.insert().values(username=f"u-{tag}", source="x", failed=2, updated_at=at))
        conn.execute(public_throttle.insert().values(client=f"c-{tag}", action="report", window_start=at, hits=1))
        nid = conn.execute(notification.insert().values(kind="reminder", recipient_user="zhang", title="催办",
                                                        body="请办理", created_at=at)).inserted_primary_key[0]
        for state in ("sent", "pending"):
            conn.execute(message_outbox.insert().values(
                notification_id=nid, username="zhang", channel="email", idempotency_key=f"k-{tag}-{state}",
                title="催办", body="请办理", state=state, next_attempt_at=at, created_at=at))


def _counts(db) -> dict:
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (web_session, api_token, login_attempt, public_throttle, message_outbox, notification)}


@pytest.fixture
def zhang(db, clock):
    with db.begin() as conn:
        conn.execute(staff.insert().values(username="zhang", name="张医生", created_at=clock.now()))


def test_the_job_deletes_old_operational_rows_and_never_an_event(engine, deploy, db, clock, zhang):
    deploy("w1.bpmn")
    iid = engine.start("w1_process", started_by="alice").id        # events of day 0
    _fill(db, clock.now(), "old")
    with db.connect() as conn:
        events_before = conn.execute(sa.select(sa.func.count()).select_from(event)).scalar()
    clock.advance(timedelta(days=170))
    _fill(db, clock.now(), "recent")
    clock.advance(timedelta(days=20))                  # the old rows are now 190 days old, the recent ones 20

    notifications = _counts(db)["notification"]       # the bell's own rows are not operational logs
    result = retention.prune(engine, 180)

    assert result["deleted"] == {"web_session": 1, "api_token": 1, "login_attempt": 1, "public_throttle": 1,
                                 "message_outbox": 1}
    assert _counts(db) == {"web_session": 1, "api_token": 1, "login_attempt": 1, "public_throttle": 1,
                           "message_outbox": 3, "notification": notifications}   # a pending message is never dropped
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(event)
                            .where(event.c.chain != ADMIN_CHAIN)).scalar() == events_before
        logged = conn.execute(sa.select(event.c.actor, event.c.data_json).where(
            event.c.chain == ADMIN_CHAIN, event.c.type == "logs_pruned")).one()
    assert logged.actor == "scheduler" and json.loads(logged.data_json)["deleted"]["web_session"] == 1
    assert engine.events(iid)                                          # the instance's history is whole
    assert audit.verify_report(db).ok


def test_a_period_under_180_days_is_refused_everywhere(engine, db, clock, zhang):
    _fill(db, clock.now(), "old")
    clock.advance(timedelta(days=100))
    with pytest.raises(Invalid, match="180"):
        retention.prune(engine, 90)
    assert _counts(db)["web_session"] == 1                              # nothing deleted
    with pytest.raises(SettingsError, match="QINGLIAN_LOG_RETENTION_DAYS"):
        Settings.from_env({"QINGLIAN_LOG_RETENTION_DAYS": "30"})
    assert Settings.from_env({}).log_retention_days == 180
    assert Settings.from_env({"QINGLIAN_LOG_RETENTION_DAYS": "365"}).log_retention_days == 365


def test_the_scheduler_runs_it_daily_with_the_configured_period(engine, db, clock, zhang):
    _fill(db, clock.now(), "old")
    clock.advance(timedelta(days=300))
    jobs = {j[0]: j for j in scheduled_jobs(Settings.from_env({"QINGLIAN_DIGEST_HOURS": "0",
                                                               "QINGLIAN_LOG_RETENTION_DAYS": "400"}), engine)}
    _id, minutes, run = jobs["qinglian-log-retention"]
    assert minutes == 24 * 60
    assert run()["deleted"]["web_session"] == 0                         # 300 days old, 400 kept
    clock.advance(timedelta(days=200))
    assert run()["deleted"]["web_session"] == 1


def test_the_cli_prunes_by_hand_and_refuses_a_short_period(engine, db, forms_dir, tmp_path, zhang, clock):
    from engine.cli.main import main
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False), "QINGLIAN_FORMS_DIR": str(forms_dir),
           "QINGLIAN_PROCESSES_DIR": str(tmp_path / "none")}
    refused = CliRunner().invoke(main, ["audit", "prune-logs", "--days", "90"], env=env)
    assert refused.exit_code == 2 and "180" in refused.output
    done = CliRunner().invoke(main, ["audit", "prune-logs"], env=env, catch_exceptions=False)
    assert done.exit_code == 0 and "kept 180 days" in done.output and "web_session 0" in done.output
