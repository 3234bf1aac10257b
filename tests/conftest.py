"""Test fixtures. Every engine test runs against SQLite and PostgreSQL.

SQLite: each test gets its own database file, copied from a template migrated once.
PostgreSQL (127.0.0.1:5432, database `test`; override with QINGLIAN_TEST_PG_URL): migrated once
per session, emptied after each test. Before and after each test we check that no table holds
rows it should not — a test that leaks state fails loudly instead of skewing the next one.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.db import migrate
from engine.org import roles
from engine.clock import FixedClock, IdSource
from engine.db.transactions import create_db_engine, write_transaction
from engine.forms import FormCatalog
from engine.runtime.services import Engine
from engine.db.schema import metadata
import os

ROOT = Path(__file__).resolve().parent.parent    # the checkout
DATA = Path(__file__).parent / "data"
PG_URL = os.environ.get("QINGLIAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2026, 9, 28, 1, 0, tzinfo=timezone.utc)   # a Monday, 09:00 in Beijing


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    db = create_db_engine(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine():
    db = create_db_engine(PG_URL)
    with db.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    migrate.upgrade(db)
    yield db
    db.dispose()


def _row_counts(db) -> dict[str, int]:
    with db.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in metadata.sorted_tables}


def _empty_pg(db) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with db.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "qinglian.db"
        shutil.copy(sqlite_template, path)
        engine = create_db_engine(f"sqlite:///{path}")
    else:
        engine = request.getfixturevalue("pg_engine")
    leftovers = {k: v for k, v in _row_counts(engine).items() if v}
    assert not leftovers, f"a previous test left rows behind: {leftovers}"
    with write_transaction(engine) as conn:
        roles.ensure_builtin_roles(conn)
        roles.add_role(conn, "LaneA", "甲岗", "Lane A")
        roles.add_role(conn, "LaneB", "乙岗", "Lane B")
    yield engine
    if request.param == "sqlite":
        engine.dispose()
    else:
        _empty_pg(engine)
        leftovers = {k: v for k, v in _row_counts(engine).items() if v}
        assert not leftovers, f"rows left behind after the test: {leftovers}"


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def forms_dir():
    return DATA / "forms"


@pytest.fixture
def engine(db, clock, forms_dir):
    """An engine with every domain registered (as the app has), that checks after every commit that a
    cold load equals the live workflow."""
    from engine.bootstrap import domain_connectors
    return Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=7), verify_persistence=True,
                  connectors=domain_connectors())


def bpmn(name: str) -> bytes:
    return (DATA / "bpmn" / name).read_bytes()


@pytest.fixture
def deploy(engine):
    from engine.bpmn.validation import SourceFile

    def _deploy(*names: str, by: str = "admin"):
        return engine.deploy([SourceFile(n, bpmn(n)) for n in names], deployed_by=by)
    return _deploy


# --- the web app and a small organisation --------------------------------------------------------
PASSWORD = "correct-horse-7"
# username, name, department, roles — one person per role the authorization tests need.
PEOPLE = (
    ("nurse", "王护士", "neike", ["staff"]),
    ("nurse2", "李护士", "neike", ["staff"]),
    ("surgeon", "赵医生", "waike", ["staff"]),
    ("neike_head", "张主任", "neike", ["staff", "department_head"]),
    ("waike_head", "刘主任", "waike", ["staff", "department_head"]),
    ("jijian", "陈纪检", "jijian", ["staff", "discipline_office"]),
    ("owner", "孙流程", "jijian", ["staff", "process_owner"]),
    ("auditor", "周审计", "jijian", ["auditor"]),
    ("admin", "吴管理", "xinxi", ["admin"]),
)


@pytest.fixture(scope="session")
def password_hash():
    from engine.org.accounts import hash_password
    return hash_password(PASSWORD)


@pytest.fixture
def people(db, clock, password_hash):
    """Four departments and the people of PEOPLE, all with the password PASSWORD."""
    from engine.org import people as org
    now = clock.now()
    with write_transaction(db) as conn:
        for code, name, category in (("neike", "内科", "clinical"), ("waike", "外科", "clinical"),
                                     ("jijian", "纪检监察室", "administrative"), ("xinxi", "信息科", "administrative")):
            org.save_department(conn, {"code": code, "name_zh": name, "category": category}, now)
        for username, name, dept, roles_ in PEOPLE:
            org.save_staff(conn, {"username": username, "name": name, "department": dept, "roles": roles_}, now,
                           password_hash=password_hash)
        for code, head in (("neike", "neike_head"), ("waike", "waike_head")):
            org.save_department(conn, {"code": code, "name_zh": {"neike": "内科", "waike": "外科"}[code],
                                       "category": "clinical", "head": head}, now)
    return {p[0]: p for p in PEOPLE}


@pytest.fixture
def app(engine):
    from engine.config import Settings
    from web import create_app
    return create_app(Settings.from_env(), engine=engine, testing=True, secret_key="test-secret")


@pytest.fixture
def client(app):
    return app.test_client()
