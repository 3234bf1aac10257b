"""Schemathesis drives every operation of the OpenAPI document through WSGI, with generated valid and
invalid input, as an admin and as the head of 内科 (on real ids): no answer may be a 5xx, and every
answer must match the document (status, content type, schema).

SQLite only and a bounded number of examples: what is under test is the HTTP layer, the same on
both databases (test_api.py covers both)."""
from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from engine import config
from engine.org import accounts, roles
from engine.db.transactions import create_db_engine, write_transaction
from engine.bpmn.validation import SourceFile

pytestmark = [pytest.mark.real_forms, pytest.mark.slow]  # the shipped forms/ (it runs the shipped processes)

MONTHLY_REPORT = config.PROJECT_ROOT / "processes" / "monthly_report.bpmn"
EXAMPLES = 20           # per operation and run: enough to find the usual mistakes in well under a minute


@pytest.fixture
def db(tmp_path, sqlite_template):
    """conftest's SQLite database alone."""
    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    with write_transaction(engine) as conn:
        roles.ensure_builtin_roles(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def world(engine, people):
    """The monthly report deployed and started, so that lists are not empty and some ids are real;
    `world["token"](user)` issues a token."""
    engine.deploy([SourceFile(MONTHLY_REPORT.name, MONTHLY_REPORT.read_bytes())], deployed_by="owner")
    view = engine.start("monthly_report", started_by="jijian", data={"department": "neike", "department_name": "内科"})

    def token(username: str) -> str:
        with write_transaction(engine.db) as conn:
            return accounts.issue_token(conn, username, engine.clock.now())[0]
    return {"token": token, "ids": {"key": "monthly_report", "instance_id": view.id, "task_id": view.tasks[0].id,
                                   "signature_id": 1, "kind": "受理告知书", "year": 2026, "number": 1}}


OPERATIONS = 32     # the document's operations; test_api.py checks that each route is documented
# Checks whose verdict is not about this API: a schema-valid request may still be refused for what it
# means (BPMN that does not parse, form data the form rejects); and a negative case that drops the
# Authorization header gets it back from us, so "accepted" would be a false alarm.
NOT_OURS = [positive_data_acceptance, negative_data_rejection]
# (generation mode, caller, path parameters: generated, or the real ones of `world`)
RUNS = [(GenerationMode.POSITIVE, "admin", False), (GenerationMode.NEGATIVE, "admin", False),
        (GenerationMode.POSITIVE, "neike_head", True), (GenerationMode.NEGATIVE, "neike_head", True)]


@pytest.mark.parametrize("mode, user, real_ids", RUNS, ids=[f"{m.value}-{u}-{'real' if r else 'generated'}-ids"
                                                            for m, u, r in RUNS])
def test_no_server_error_and_every_answer_as_documented(app, world, mode, user, real_ids):
    # Not schemathesis's pytest plugin: its lazy loader needs an attribute pytest 9 no longer has.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == OPERATIONS
    caller = world["token"](user)
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        if real_ids and not names:
            continue
        path_parameters = {n: world["ids"][n] for n in names} if real_ids else None
        revokes = (operation.method, operation.path) == ("delete", "/api/v1/auth/token")

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            token = world["token"](user) if revokes else caller      # revoking must not end the run
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=NOT_OURS)
        check()
