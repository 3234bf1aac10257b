"""Schema migrations and the refusal to run on a schema this code does not know."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db import migrate
from engine.db.schema import metadata

pytestmark = pytest.mark.both_databases


def test_migrations_create_every_table_of_the_schema(db):
    names = set(sa.inspect(db).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= names
    assert migrate.current_revision(db) == migrate.head_revision()
    migrate.check_current(db)                # the current schema is accepted


def test_migrations_create_the_indexes_of_the_schema_with_their_conditions(db):
    """What schema.py declares is what the migrations built: names, columns and, for the partial
    indexes the inbox and the scheduler rely on, their conditions."""
    inspector = sa.inspect(db)
    for table in metadata.sorted_tables:
        built = {ix["name"]: ix for ix in inspector.get_indexes(table.name)
                 if not ix.get("duplicates_constraint")}     # PostgreSQL lists a unique key's index
        declared = {ix.name: ix for ix in table.indexes}
        assert set(built) == set(declared), table.name
        for name, ix in declared.items():
            assert built[name]["column_names"] == [c.name for c in ix.columns], name
            where = ix.dialect_options[db.dialect.name]["where"]
            if where is None:
                continue
            if db.dialect.name == "sqlite":
                with db.connect() as conn:
                    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar()
                condition = sql.split(" WHERE ", 1)[1]
            else:
                condition = built[name]["dialect_options"]["postgresql_where"]
            words = {w.strip("()'").lower() for w in condition.replace("::text", "").replace("<>", "!=").split()}
            expected = {w.strip("()'").lower() for w in str(where.compile(
                dialect=db.dialect, compile_kwargs={"literal_binds": True})).replace(f"{table.name}.", "").split()}
            assert words == expected, (name, condition)


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
    from engine.db.transactions import create_db_engine
    empty = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(migrate.SchemaMismatch, match="qinglian init-db"):
        migrate.check_current(empty)


def test_the_health_route_answers_without_login(engine, tmp_path):
    from engine.config import Settings
    from web import create_app
    # its own instance folder: the app keeps its keys there, never in the checkout
    app = create_app(Settings.from_env({"QINGLIAN_INSTANCE_DIR": str(tmp_path)}), engine=engine)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_times_are_stored_on_sqlite_exactly_as_sqlalchemy_formats_them():
    """The fast bind path writes the text SQLAlchemy's own SQLite DATETIME writes (stored times are
    compared as text: a different format would sort wrongly against rows written before)."""
    from datetime import datetime, timedelta, timezone
    from sqlalchemy.dialects import sqlite
    from engine.db.schema import UTCDateTime
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    beijing = timezone(timedelta(hours=8))
    for value in (datetime(2026, 12, 4, 8, tzinfo=timezone.utc), datetime(2026, 12, 4, 8, 1, 2, 345, tzinfo=beijing),
                  datetime(999, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=beijing)):
        assert ours(value) == theirs(value.astimezone(timezone.utc).replace(tzinfo=None))
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 12, 4, 8))
