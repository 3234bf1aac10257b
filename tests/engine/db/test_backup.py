"""`qinglian backup` and `qinglian restore` on SQLite and PostgreSQL: a backup taken while instances are
being worked on restores into an empty database with every row and a verified audit chain; a database
holding data is not overwritten without --force; a backup of an unknown schema is refused."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from engine.cli.main import main
from engine.db.transactions import create_db_engine
from engine.db.schema import event, human_task, process_instance
from tests.conftest import PG_URL
from tests.web.test_api import MONTHLY_REPORT, NEIKE, VALID_REPORT

pytestmark = [pytest.mark.both_databases, pytest.mark.real_forms]


@pytest.fixture
def target_url(db, tmp_path):
    """An empty database of the same kind to restore into."""
    if db.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = make_url(PG_URL)
    name = f"{url.database}_restore"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _url(db) -> str:
    return db.url.render_as_string(hide_password=False)


def _cli(url: str, *args):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)


def _work(engine, n: int) -> None:
    from engine.bpmn.validation import SourceFile
    engine.deploy([SourceFile(MONTHLY_REPORT.name, MONTHLY_REPORT.read_bytes())], deployed_by="owner")
    for i in range(n):
        view = engine.start("monthly_report", started_by="jijian", business_key=f"2026-{i:02d} 内科", data=NEIKE)
        if i % 2:
            engine.complete_task(view.tasks[0].id, user="neike_head", data=VALID_REPORT)


def _counts(url: str) -> dict:
    db = create_db_engine(url)
    try:
        with db.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                    for t in (process_instance, human_task, event)}
    finally:
        db.dispose()


def test_a_backup_taken_while_instances_are_worked_on_restores_with_a_verified_audit_chain(
        engine, people, db, tmp_path, target_url):
    _work(engine, 6)
    backup_file = tmp_path / "qinglian.backup"
    more = threading.Thread(target=_work_more, args=(engine,))
    more.start()                                       # the application keeps serving during the backup
    result = _cli(_url(db), "backup", str(backup_file))
    more.join()
    assert result.exit_code == 0, result.output
    assert "backing up" in result.stderr and f"backup written to {backup_file}" in result.stdout

    restored = _cli(target_url, "restore", str(backup_file))
    assert restored.exit_code == 0, restored.output
    assert "audit verify: OK" in restored.stdout and "restoring" in restored.stderr
    counts = _counts(target_url)
    assert counts["process_instance"] >= 6 and counts["event"] > 0
    # the copy is one consistent moment: every instance's events are whole (the chain verified above),
    # and nothing was added that the source does not hold
    source = _counts(_url(db))
    assert all(counts[t] <= source[t] for t in counts)
    assert _cli(target_url, "audit", "verify").exit_code == 0
    # and the restored database serves: its tasks can be completed
    from engine.config import Settings
    from engine.bootstrap import open_engine
    restored_engine = open_engine(Settings.from_env({"DATABASE_URL": target_url}), clock=engine.clock)
    try:
        fill_in = next(t for t in restored_engine.list_tasks(status="open") if t.candidate_role != "discipline_office")
        restored_engine.complete_task(fill_in.id, user="neike_head", data=VALID_REPORT)
        assert fill_in.id not in {t.id for t in restored_engine.list_tasks(status="open")}
    finally:
        restored_engine.db.dispose()


def _work_more(engine) -> None:
    for i in range(4):
        engine.start("monthly_report", started_by="jijian", business_key=f"2027-{i:02d} 内科", data=NEIKE)


def test_restore_refuses_a_database_that_holds_data_unless_forced(engine, people, db, tmp_path, target_url):
    _work(engine, 2)
    backup_file = tmp_path / "first.backup"
    assert _cli(_url(db), "backup", str(backup_file)).exit_code == 0
    assert _cli(target_url, "restore", str(backup_file)).exit_code == 0
    before = _counts(target_url)

    again = _cli(target_url, "restore", str(backup_file))
    assert again.exit_code == 2
    assert "already holds data" in again.stderr and "--force" in again.stderr
    assert _counts(target_url) == before

    forced = _cli(target_url, "restore", "--force", str(backup_file))
    assert forced.exit_code == 0, forced.output
    assert _counts(target_url) == before


def test_a_forced_restore_is_refused_while_a_scheduler_of_the_installation_beats(engine, people, db, tmp_path,
                                                                                  target_url):
    from datetime import datetime, timedelta, timezone
    from engine.db.schema import scheduler_heartbeat
    _work(engine, 1)
    backup_file = tmp_path / "running.backup"
    assert _cli(_url(db), "backup", str(backup_file)).exit_code == 0
    assert _cli(target_url, "restore", str(backup_file)).exit_code == 0
    target = create_db_engine(target_url)
    with target.begin() as conn:
        conn.execute(scheduler_heartbeat.delete())
        conn.execute(scheduler_heartbeat.insert().values(owner="node-1:4242", fired_total=0,
                                                         beat_at=datetime.now(timezone.utc)))
    target.dispose()
    before = _counts(target_url)
    running = _cli(target_url, "restore", "--force", str(backup_file))
    assert running.exit_code == 2 and "node-1:4242" in running.stderr and "--even-if-running" in running.stderr
    assert _counts(target_url) == before
    assert _cli(target_url, "restore", "--force", "--even-if-running", str(backup_file)).exit_code == 0
    target = create_db_engine(target_url)
    with target.begin() as conn:                                     # a scheduler stopped an hour ago
        conn.execute(scheduler_heartbeat.insert().values(owner="node-2:1", fired_total=0,
                                                         beat_at=datetime.now(timezone.utc) - timedelta(hours=1)))
    target.dispose()
    assert _cli(target_url, "restore", "--force", str(backup_file)).exit_code == 0


def test_a_backup_of_a_schema_this_version_does_not_know_is_refused(engine, people, db, tmp_path, target_url):
    backup_file = tmp_path / "future.backup"
    with db.begin() as conn:
        (old,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    try:
        assert _cli(_url(db), "backup", str(backup_file)).exit_code == 0   # backing up needs no schema check
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": old})
    result = _cli(target_url, "restore", str(backup_file))
    assert result.exit_code == 2
    assert "9999_future" in result.stderr and "unknown to this version" in result.stderr
    untouched = create_db_engine(target_url)
    assert sa.inspect(untouched).get_table_names() == []            # nothing was written
    untouched.dispose()


def test_restore_of_a_file_that_is_no_backup_names_the_problem(db, tmp_path, target_url):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    result = _cli(target_url, "restore", str(junk))
    assert result.exit_code == 2 and "is not a Qinglian backup" in result.stderr
