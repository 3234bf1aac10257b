"""Test fixtures.

Databases: a test that asks for `db` (or anything built on it: `engine`, `app`, `client`, …) runs on
SQLite. A test whose behaviour depends on the database — SQL, locking, concurrency, persistence — is
marked `both_databases` (usually for its whole module: `pytestmark = pytest.mark.both_databases`) and
runs on SQLite and on PostgreSQL; its ids end in `[sqlite]` and `[postgresql]`.

SQLite: each test gets its own database file, copied from a template migrated once per session.
PostgreSQL (127.0.0.1:5432; base URL QINGLIAN_TEST_PG_URL, default database `test`): each pytest-xdist
worker has a database of its own (`test_gw0`, `test_gw1`, …, created when missing), migrated once per
session and emptied after each test. Before each test we check that no table holds rows — a test that
leaks state fails loudly instead of skewing the next one.

Nothing is written into the checkout: the instance folder (keys, default database) is a temporary one.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa

from engine.clock import FixedClock, IdSource
from engine.db import migrate
from engine.db.transactions import create_db_engine, write_transaction
from engine.db.wal_checkpoint import checkpointer
from engine.forms import FormCatalog
from engine.org import roles
from engine.runtime.services import Engine

ROOT = Path(__file__).resolve().parent.parent    # the checkout
DATA = Path(__file__).parent / "data"
START = datetime(2026, 9, 28, 1, 0, tzinfo=timezone.utc)   # a Monday, 09:00 in Beijing
_PG_BASE = os.environ.get("QINGLIAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
PG_URL = f"{_PG_BASE}_{_WORKER}" if _WORKER else _PG_BASE
DIALECTS = ("sqlite", "postgresql")


def pytest_configure(config):
    # Keys, default database and logs of every app, CLI and subprocess the tests start go to a
    # temporary instance folder, never into the checkout.
    os.environ["QINGLIAN_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="qinglian-instance-")
    # argon2id as in the product, at the smallest cost, for thousands of sign-ins
    # (tests/engine/org/test_password_hash.py checks the product's own parameters).
    from argon2 import PasswordHasher
    from engine.org import accounts
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    config._qinglian_started = time.time()


def pytest_sessionfinish(session, exitstatus):
    started = getattr(session.config, "_qinglian_started", None)
    written = [p for p in (ROOT / "instance").glob("*") if started and p.stat().st_mtime >= started]
    if written and exitstatus == 0:
        session.exitstatus = 1
        print(f"\nthe tests wrote into the checkout: {', '.join(str(p) for p in written)}")


def pytest_collection_modifyitems(items):
    """Tests marked `slow` first: pytest-xdist hands tests out in this order, and a long test handed
    out last keeps one worker busy while the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_generate_tests(metafunc):
    """`db` (directly or through other fixtures): SQLite, or both databases for `both_databases`, or
    PostgreSQL alone for `postgresql_only` (what SQLite does not have, e.g. network round trips)."""
    if "db" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases") is not None
        only_pg = metafunc.definition.get_closest_marker("postgresql_only") is not None
        dialects = DIALECTS[1:] if only_pg else DIALECTS if both else DIALECTS[:1]
        metafunc.parametrize("db", dialects, indirect=True, scope="function")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    db = create_db_engine(f"sqlite:///{path}")
    migrate.upgrade(db)
    _seed(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def shipped_template(sqlite_template, tmp_path_factory) -> Path:
    """The SQLite template with the shipped processes/ deployed (see `shipped`)."""
    from engine.bootstrap import deploy_directory, domain_connectors
    path = tmp_path_factory.mktemp("db") / "shipped.db"
    shutil.copy(sqlite_template, path)
    db = create_db_engine(f"sqlite:///{path}")
    engine = Engine(db, FormCatalog(ROOT / "forms"), FixedClock(START), IdSource(seed=11),
                    connectors=domain_connectors())
    deploy_directory(engine, ROOT / "processes", deployed_by="owner")
    db.dispose()
    return path


def _seed(db) -> None:
    """What every test's database holds: the built-in roles and two lane roles of the test diagrams."""
    with write_transaction(db) as conn:
        roles.ensure_builtin_roles(conn)
        roles.add_role(conn, "LaneA", "甲岗", "Lane A")
        roles.add_role(conn, "LaneB", "乙岗", "Lane B")


def _ensure_pg_database(url: str) -> None:
    target = sa.engine.make_url(url)
    admin = create_db_engine(target.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": target.database}).first():
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine():
    _ensure_pg_database(PG_URL)
    db = create_db_engine(PG_URL)
    with db.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
        # A test database need not survive a power cut: commits (and the scheduler processes a test
        # starts, which connect to the same database) do not wait for the WAL to reach the disk.
        conn.exec_driver_sql(f'ALTER DATABASE "{db.url.database}" SET synchronous_commit = off')
    db.dispose()                      # new connections take the database's setting
    migrate.upgrade(db)
    yield db
    db.dispose()


def _tables_with_rows(db) -> list[str]:
    from tests.helpers.snapshots import tables_with_rows
    with db.connect() as conn:
        return tables_with_rows(conn)


def _empty_pg(db) -> None:
    from tests.helpers.snapshots import empty_pg
    with db.begin() as conn:
        empty_pg(conn)


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory):
    """The test process's SQLite engine: one file path, a fresh copy of a template for each test (see
    `db`). One engine, as in the product, so that SQLAlchemy compiles each statement once per process
    rather than once per test (its compiled-statement cache belongs to an engine)."""
    engine = create_db_engine(f"sqlite:///{tmp_path_factory.mktemp('live') / 'qinglian.db'}", query_cache_size=3000)
    yield engine
    engine.dispose()


@pytest.fixture
def db(request, sqlite_template):
    """A database of the test's own: a fresh copy of the SQLite template, or the worker's PostgreSQL
    database, which must be empty when the test starts (a test that leaks rows past its end — a thread
    still writing, say — fails the next one loudly) and is emptied after it."""
    if request.param == "sqlite":
        engine = request.getfixturevalue("sqlite_engine")
        engine.dispose()
        checkpointer.forget(engine.url.database)     # no background pass on the file being replaced
        path = Path(engine.url.database)
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)     # a new file: a connection a test left open keeps the old one
        shipped = "shipped" in request.fixturenames
        shutil.copy(request.getfixturevalue("shipped_template") if shipped else sqlite_template, path)
        engine.qinglian_shipped = shipped
    else:
        engine = request.getfixturevalue("pg_engine")
        leftovers = _tables_with_rows(engine)
        assert not leftovers, f"a previous test left rows behind in {leftovers}"
        _seed(engine)
    yield engine
    if request.param == "sqlite":
        engine.dispose()
    else:
        _empty_pg(engine)


@pytest.fixture
def clock():
    return FixedClock(START)


@pytest.fixture
def forms_dir(request):
    """The forms the engine reads: the small test forms of tests/data/forms, or the shipped forms/ for
    a test marked `real_forms` (one that runs the shipped processes)."""
    return ROOT / "forms" if request.node.get_closest_marker("real_forms") else DATA / "forms"


@pytest.fixture
def verify_persistence() -> bool:
    """Whether the engine checks after every commit that a cold load equals the live workflow: in the
    engine's tests, yes (tests/web and tests/browser, which test pages over the same operations,
    override it)."""
    return True


@pytest.fixture
def engine(db, clock, forms_dir, verify_persistence):
    """An engine with every domain registered (as the app has), that checks after every commit that a
    cold load equals the live workflow (see `verify_persistence`)."""
    from engine.bootstrap import domain_connectors
    from engine.sandbox.pool import shared_pool
    workers = int(os.environ.get("QINGLIAN_TEST_SCRIPT_WORKERS") or 0)   # >0: scripts in worker processes
    return Engine(db, FormCatalog(forms_dir), clock, IdSource(seed=7), verify_persistence=verify_persistence,
                  connectors=domain_connectors(), script_pool=shared_pool(workers) if workers else None)


@pytest.fixture
def shipped(db, engine):
    """The shipped processes/ deployed by the process owner at START, as `make run` deploys them (for a
    test marked `real_forms`). On SQLite the test's database is a copy of a template that already holds
    them — deploying them was the slowest part of many tests' set-up; on PostgreSQL they are deployed by
    the first test of the process that asks, and restored for the next (tests/helpers/snapshots.py)."""
    if not getattr(db, "qinglian_shipped", False):      # PostgreSQL, or asked for in the test's body
        from engine.bootstrap import deploy_directory
        from tests.helpers.snapshots import SNAPSHOTS
        SNAPSHOTS.once(("shipped",), db, lambda: deploy_directory(engine, ROOT / "processes", deployed_by="owner"),
                       clock=engine.clock, ids=engine.ids)


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
# The authenticator secret every person of PEOPLE holding a privileged role is enrolled with
# (`tests.helpers.web.login` answers the second step with its current code).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
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
    ("security", "钱安全", "xinxi", ["staff", "security_admin"]),
    ("auditadmin", "郑审计", "xinxi", ["staff", "audit_admin"]),
)


@pytest.fixture(scope="session")
def password_hash():
    from engine.org.accounts import hash_password
    return hash_password(PASSWORD)


@pytest.fixture
def people(db, clock, password_hash):
    """Four departments and the people of PEOPLE, all with the password PASSWORD (written once per test
    process and starting point, then restored: tests/helpers/snapshots.py)."""
    from tests.helpers.snapshots import SNAPSHOTS
    SNAPSHOTS.once(("people",), db, lambda: _add_people(db, clock.now(), password_hash), clock=clock)
    return {p[0]: p for p in PEOPLE}


def _add_people(db, now, password_hash) -> None:
    from engine.org import people as org
    from engine.org import two_factor
    from engine.org.roles import PRIVILEGED_ROLES
    with write_transaction(db) as conn:
        for code, name, category in (("neike", "内科", "clinical"), ("waike", "外科", "clinical"),
                                     ("jijian", "纪检监察室", "administrative"), ("xinxi", "信息科", "administrative")):
            org.save_department(conn, {"code": code, "name_zh": name, "category": category}, now)
        for username, name, dept, roles_ in PEOPLE:
            org.save_staff(conn, {"username": username, "name": name, "department": dept, "roles": roles_}, now,
                           password_hash=password_hash)
            if set(roles_) & PRIVILEGED_ROLES:
                two_factor.enrol_known_secret(conn, username, TOTP_SECRET)
        for code, head in (("neike", "neike_head"), ("waike", "waike_head")):
            org.save_department(conn, {"code": code, "name_zh": {"neike": "内科", "waike": "外科"}[code],
                                       "category": "clinical", "head": head}, now)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app a test process builds: each test has
    an app of its own, and compiling the pages' templates again for each was most of a page test's
    time. (Jinja checks each template's source against the checksum kept with its code.)"""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()


class _Apps:
    """One app per test process and settings, bound to each test's engine, as the server runs one app
    for all its requests: building an app (compiling ~190 URL rules, the API's OpenAPI document) was
    most of a page test's set-up. Each test gets the app's configuration and extensions as they were
    built (a test that changes them changes them for itself only); a test that needs an app of other
    settings builds its own with `web.create_app`."""

    def __init__(self):
        self._built: dict[str, tuple] = {}

    def bound_to(self, engine):
        from engine.config import Settings
        from web import create_app
        settings = Settings.from_env()
        key = repr(settings)
        if key not in self._built:
            app = create_app(settings, engine=engine, testing=True, secret_key="test-secret")
            app.jinja_env.bytecode_cache = _TEMPLATES
            self._built[key] = (app, dict(app.config), dict(app.extensions))
        app, config, extensions = self._built[key]
        app.config.clear()
        app.config.update(config)
        app.extensions.clear()
        app.extensions.update(extensions, qinglian=engine)
        return app


_APPS = _Apps()


@pytest.fixture
def app(engine):
    return _APPS.bound_to(engine)


@pytest.fixture
def client(app):
    return app.test_client()
