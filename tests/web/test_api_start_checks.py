"""An API start is checked against the latest version of the process, even when this node knows the
process from before and another node deployed a new version meanwhile (issue 23: the checks read
the version this node knows without a query; the start's write verifies it is still the latest)."""
from __future__ import annotations

import pytest

from engine import config
from engine.bpmn.validation import SourceFile
from engine.db.transactions import write_transaction
from engine.forms import FormCatalog
from engine.org import accounts
from engine.runtime.services import Engine

pytestmark = pytest.mark.real_forms

API = "/api/v1"
MONTHLY_REPORT = (config.PROJECT_ROOT / "processes" / "monthly_report.bpmn").read_text(encoding="utf-8")
STARTABLE = '<spiffworkflow:property name="startableBy" value="discipline_office" />'


def test_a_version_deployed_on_another_node_is_what_an_api_start_is_checked_against(engine, people, client,
                                                                                       db, clock, forms_dir):
    engine.deploy([SourceFile("monthly_report.bpmn", MONTHLY_REPORT.encode())], deployed_by="owner")
    with write_transaction(engine.db) as conn:
        token = accounts.issue_token(conn, "jijian", engine.clock.now())[0]
    bearer = {"Authorization": f"Bearer {token}"}

    def start(department):
        return client.post(f"{API}/instances", headers=bearer, json={
            "process_key": "monthly_report", "data": {"department": department}})

    assert start("neike").status_code == 201                  # this node now knows version 1
    from engine.bootstrap import domain_connectors
    other_node = Engine(db, FormCatalog(forms_dir), clock, connectors=domain_connectors())
    confidential = MONTHLY_REPORT.replace(STARTABLE, STARTABLE.replace("discipline_office", "process_owner")
                                          + '<spiffworkflow:property name="confidential" value="process_owner" />')
    assert confidential != MONTHLY_REPORT
    other_node.deploy([SourceFile("monthly_report.bpmn", confidential.encode())], deployed_by="owner")

    refused = start("waike")                                  # version 2 admits only process owners
    assert refused.status_code == 403, refused.get_data(as_text=True)
    assert engine.process_info("monthly_report").version == 2


def test_a_version_deployed_on_another_node_is_what_a_page_start_is_checked_against(engine, people, client,
                                                                                      db, clock, forms_dir):
    from engine.bootstrap import domain_connectors
    from engine.inbox import submission
    from engine.errors import Forbidden
    from engine.org.people import principal
    engine.deploy([SourceFile("monthly_report.bpmn", MONTHLY_REPORT.encode())], deployed_by="owner")
    with engine.db.connect() as conn:
        jijian = principal(conn, "jijian")
    submission.start(engine, jijian, "monthly_report", {"department": "neike"})     # version 1 known here
    other_node = Engine(db, FormCatalog(forms_dir), clock, connectors=domain_connectors())
    other_node.deploy([SourceFile("monthly_report.bpmn", MONTHLY_REPORT.replace(
        STARTABLE, STARTABLE.replace("discipline_office", "process_owner")).encode())], deployed_by="owner")
    with pytest.raises(Forbidden):
        submission.start(engine, jijian, "monthly_report", {"department": "waike"})
