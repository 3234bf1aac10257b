"""Schema migrations and the refusal to run on a schema this code does not know."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import migrate
from engine.schema import metadata


def test_migrations_create_every_table_of_the_schema(db):
    names = set(sa.inspect(db).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= names
    assert migrate.current_revision(db) == migrate.head_revision()
    migrate.check_current(db)                # the current schema is accepted


def test_an_unknown_schema_revision_is_refused_with_a_clear_message(db):
    with db.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_future'")
    try:
        with pytest.raises(migrate.SchemaMismatch, match="unknown to this version"):
            migrate.check_current(db)
    finally:
        with db.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()})


def test_an_empty_database_is_refused_until_initialised(tmp_path):
    from engine.db import create_db_engine
    empty = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(migrate.SchemaMismatch, match="qinglian init-db"):
        migrate.check_current(empty)


def test_the_health_route_answers_without_login(engine):
    from engine.config import Settings
    from web import create_app
    app = create_app(Settings.from_env({}), engine=engine)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
