"""Upgrades: a database created by the first release (schema 0001) and used at every release since is
migrated to this version with its data intact and its audit chains verified, on SQLite and PostgreSQL;
and nothing starts — the app, gunicorn, a scheduler — on a schema this version does not know."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from engine import config
from engine.audit import verify as audit
from engine.db import migrate
from engine.db.transactions import create_db_engine
from engine.db.schema import metadata
from tests.conftest import PG_URL
from tests.web.test_api import MONTHLY_REPORT, NEIKE, VALID_REPORT
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms, pytest.mark.slow]


@pytest.fixture
def old_db(db, tmp_path):
    """An empty database of the same kind, with no schema yet."""
    if db.dialect.name == "sqlite":
        target = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield target
        target.dispose()
        return
    url = make_url(PG_URL)
    name = f"{url.database}_upgrade"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    target = create_db_engine(url.set(database=name).render_as_string(hide_password=False))
    yield target
    target.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _upgrade_to(db, revision: str) -> None:
    cfg = migrate._config(db.url.render_as_string(hide_password=False))
    with db.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate._config("sqlite://"))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


def _rows(db) -> dict[str, list[dict]]:
    with db.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in metadata.sorted_tables}


def _fill_at(target, reference: dict[str, list[dict]], done: dict[str, set]) -> dict[str, set]:
    """Insert the reference rows of every table the schema has now and had not before, with the columns
    it has now (as the release of that schema wrote them); returns each filled table's columns."""
    have = sa.MetaData()
    have.reflect(target)
    new = [t for t in metadata.sorted_tables if t.name in have.tables and t.name not in done]
    with target.begin() as conn:
        for table in new:
            columns = set(have.tables[table.name].columns.keys())
            rows = [{k: v for k, v in row.items() if k in columns} for row in reference[table.name]]
            if rows:
                conn.execute(sa.insert(have.tables[table.name]), rows)
            done = {**done, table.name: columns}
    return done


def _advance_sequences(db) -> None:
    """Rows were inserted with their ids: move PostgreSQL's id sequences past them, as the old release's
    own inserts would have."""
    if db.dialect.name != "postgresql":
        return
    with db.begin() as conn:
        for table in metadata.sorted_tables:
            if "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"))


def _as_before_seals(reference: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The events as the releases before 0022 hashed them — no algorithm column, no state seal (the
    columns they did not have are left out when the rows are put in) — with the heads to match."""
    from engine.history import GENESIS, event_hash
    heads: dict[str, str] = {}
    events = []
    for r in sorted(reference["event"], key=lambda r: (r["chain"], r["seq"])):
        prev = heads.get(r["chain"], GENESIS)
        h = event_hash(prev, r["chain"], r["seq"], r["type"], r["at"], r["actor"], r["task_id"], r["element_id"],
                       r["data_json"])
        events.append({**r, "prev_hash": prev, "hash": h, "hash_alg": None, "state_hash": None})
        heads[r["chain"]] = h
    return {**reference, "event": events,
            "process_instance": [{**r, "event_head": heads.get(r["id"], r["event_head"])}
                                 for r in reference["process_instance"]],
            "chain_head": [{**r, "hash": heads.get(r["chain"], r["hash"])} for r in reference["chain_head"]]}


def test_a_database_from_the_first_release_with_data_at_every_step_upgrades_intact(
        engine, db, clues, clock, old_db):
    # the reference: real work of every kind done by this version's engine
    from engine.bpmn.validation import SourceFile
    from engine.deadlines.scheduler import TimerScheduler
    from tests.conftest import bpmn
    engine.deploy([SourceFile(MONTHLY_REPORT.name, MONTHLY_REPORT.read_bytes()),
                   SourceFile("wait_timer.bpmn", bpmn("wait_timer.bpmn"))], deployed_by="owner")
    report = engine.start("monthly_report", started_by="jijian", business_key="2026-09 内科", data=NEIKE)
    engine.complete_task(report.tasks[0].id, user="neike_head", data=VALID_REPORT)
    waiting = engine.start("wait_timer", started_by="jijian")
    clue = clues.register(reporter=("张三", "13900001111"))
    TimerScheduler(engine, owner="sched-ref").run_once()
    reference = _as_before_seals(_rows(db))
    assert reference["human_task"] and reference["timer"] and reference["event"] and reference["clue_reporter"]

    revisions = _revisions()
    assert revisions[0] == "0001" and revisions[-1] == migrate.head_revision()
    done: dict[str, set] = {}
    for revision in revisions:                         # each release in turn, with its data put in
        _upgrade_to(old_db, revision)
        done = _fill_at(old_db, reference, done)
    assert set(done) == {t.name for t in metadata.sorted_tables}
    _advance_sequences(old_db)
    assert migrate.current_revision(old_db) == migrate.head_revision()

    upgraded = _rows(old_db)
    for table, rows in reference.items():                 # every row, every value it was written with
        key = [c.name for c in metadata.tables[table].primary_key]
        def by_key(rs, cols=sorted(done[table]), key=key):
            return sorted(((tuple(str(r[k]) for k in key), {c: r[c] for c in cols}) for r in rs),
                          key=lambda kv: kv[0])
        assert by_key(upgraded[table]) == by_key(rows), f"rows of {table} changed"
    events_in = {r["id"]: r["hash"] for r in reference["event"]}
    assert {r["id"]: r["hash"] for r in upgraded["event"]} == events_in
    report_ok = audit.verify_report(old_db, None)
    assert report_ok.ok and report_ok.events == len(reference["event"])

    # and the upgraded database works: the review task completes, the timer fires when due
    from engine.forms import FormCatalog
    from engine.runtime.services import Engine
    from engine.bootstrap import domain_connectors
    after = Engine(old_db, FormCatalog(config.PROJECT_ROOT / "forms"), clock, connectors=domain_connectors())
    review = next(t for t in after.list_tasks(status="open") if t.instance_id == report.id)
    after.complete_task(review.id, user="jijian", data={"accepted": True})
    assert after.show(report.id).status == "completed"
    clock.advance(timedelta(days=30))
    assert TimerScheduler(after, owner="sched-new").run_once() >= 1
    assert after.show(waiting.id).status == "completed"
    assert after.show(clue.instance_id).status == "active"
    assert audit.verify_report(old_db, None).ok


def test_the_app_and_the_scheduler_refuse_an_unknown_schema_with_a_clear_message(db, tmp_path):
    url = db.url.render_as_string(hide_password=False)
    with db.begin() as conn:
        (old,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    env = dict(os.environ, DATABASE_URL=url, QINGLIAN_INSTANCE_DIR=str(tmp_path), QINGLIAN_BIND="127.0.0.1:0",
               QINGLIAN_WORKERS="1")
    try:
        with pytest.raises(migrate.SchemaMismatch, match="unknown to this version"):
            from web import create_app
            create_app(config.Settings.from_env({"DATABASE_URL": url, "QINGLIAN_INSTANCE_DIR": str(tmp_path)}))
        scheduler = subprocess.run([sys.executable, "-m", "engine", "scheduler"], env=env,
                                   capture_output=True, text=True, timeout=60)
        assert scheduler.returncode == 3
        assert "schema (9999_future) is unknown to this version" in scheduler.stderr
        gunicorn = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "web/gunicorn_conf.py", "web.wsgi:app"],
                                  env=env, capture_output=True, text=True, timeout=60, cwd=config.PROJECT_ROOT)
        assert gunicorn.returncode != 0
        assert "qinglian: cannot start: the database schema (9999_future) is unknown" in gunicorn.stderr
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": old})
