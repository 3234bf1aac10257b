"""举报人信息严格保密: a real-name reporter's name and contact are encrypted at rest, only the
discipline office can reveal them (each reveal an audited event), and for every other role — and for
the person concerned — they appear in no page, API response, ledger, Excel export, event or log."""
from __future__ import annotations

import io
import logging
import zipfile

import pytest
import sqlalchemy as sa

from engine.clues import confidential as clues_confidential
from engine.clues.confidential import ACCESS_CHAIN
from engine.db.schema import event, metadata
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)

NAME, CONTACT = "欧阳举报", "13912345678"
EVERYONE = ("nurse", "nurse2", "surgeon", "neike_head", "waike_head", "jijian", "jj_head", "owner", "auditor",
            "admin", "leader")
OFFICE = {"jijian", "jj_head"}


@pytest.fixture
def app(engine, vault):                                         # noqa: F811  (the app with the test vault)
    from engine.config import Settings
    from web import create_app
    application = create_app(Settings.from_env(), engine=engine, testing=True, secret_key="test-secret")
    application.extensions["qinglian_reporter_vault"] = vault
    return application


@pytest.fixture
def clue(clues, caplog):
    """A real-name clue about 王护士 (nurse, the person concerned), with its acceptance notice given."""
    caplog.set_level(logging.DEBUG)
    reg = clues.register(reporter=(NAME, CONTACT), person_name="王护士", person_department="neike")
    clues.notify(reg.instance_id, "acceptance_notice", "您的举报已受理。")
    return reg


def _texts(resp) -> str:
    body = resp.get_data()
    if resp.mimetype and "spreadsheet" in resp.mimetype:
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return body.decode("utf-8", "replace")


def _pages(clue, engine):
    tasks = engine.show(clue.instance_id).tasks
    paths = ["/inbox", "/inbox?view=claimable", "/clues", f"/clues/{clue.instance_id}", "/clues/export.xlsx",
             f"/instances/{clue.instance_id}/diagram"] + [f"/tasks/{t.id}" for t in tasks]
    return paths


def test_the_identity_is_stored_only_encrypted_and_the_key_is_not_in_the_database(clue, db, vault):
    found = []
    with db.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                text = repr(tuple(row))
                if NAME in text or CONTACT in text:
                    found.append(table.name)
        token = conn.execute(sa.select(clues_confidential.clue_reporter.c.name_token)).scalar_one()
    assert found == []
    assert vault.open(token) == NAME


def test_no_page_export_or_api_response_shows_the_reporter_to_any_role(app, clue, engine):
    """Every role, on every page and API route that touches the clue, before anyone reveals it."""
    from engine.org import accounts
    from engine.db.transactions import write_transaction
    with write_transaction(engine.db) as conn:
        tokens = {u: accounts.issue_token(conn, u, engine.clock.now())[0] for u in EVERYONE}
    tasks = engine.show(clue.instance_id).tasks
    api_paths = [f"/api/v1/instances/{clue.instance_id}", f"/api/v1/instances/{clue.instance_id}/events",
                 "/api/v1/tasks", "/api/v1/tasks?view=claimable"] + [f"/api/v1/tasks/{t.id}" for t in tasks]
    for user in EVERYONE:
        c = app.test_client()
        login(c, user)
        for path in _pages(clue, engine):
            resp = c.get(path)
            text = _texts(resp)
            assert resp.status_code < 500 and NAME not in text and CONTACT not in text, f"{user} {path}"
        for path in api_paths:
            resp = c.get(path, headers={"Authorization": f"Bearer {tokens[user]}"})
            text = resp.get_data(as_text=True)
            assert resp.status_code < 500 and NAME not in text and CONTACT not in text, f"{user} {path}"


def test_only_the_discipline_office_can_reveal_the_reporter_and_each_reveal_is_audited(app, clue, db):
    for user in EVERYONE:
        c = app.test_client()
        login(c, user)
        resp = post(c, f"/clues/{clue.instance_id}/reporter", page="/inbox")
        text = resp.get_data(as_text=True)
        if user in OFFICE:
            assert resp.status_code == 200, user
            assert NAME in text and CONTACT in text and "保密查阅记录" in text
        else:
            assert resp.status_code == 403 and NAME not in text, user
    with db.connect() as conn:
        access = conn.execute(sa.select(event).where(event.c.chain == ACCESS_CHAIN).order_by(event.c.seq)).all()
    assert [(e.type, e.actor, e.instance_id) for e in access] == [
        ("reporter_viewed", u, None) for u in EVERYONE if u in OFFICE]
    assert all(NAME not in e.data_json and clue.instance_id in e.data_json for e in access)
    from engine import history
    assert history.verify_chain(ACCESS_CHAIN, access) == []                  # the access log is hash-chained


def test_the_person_concerned_cannot_reach_the_clue_at_all(app, clue, engine):
    c = app.test_client()
    login(c, "nurse")                                 # 王护士, the person concerned
    assert c.get("/clues").status_code == 403
    assert c.get(f"/clues/{clue.instance_id}").status_code == 403
    assert c.get("/clues/export.xlsx").status_code == 403
    for t in engine.show(clue.instance_id).tasks:
        assert c.get(f"/tasks/{t.id}").status_code in (403, 404)
    assert c.get(f"/instances/{clue.instance_id}/diagram").status_code == 404


def test_neither_events_nor_logs_ever_hold_the_identity(app, clue, engine, caplog, db):
    c = app.test_client()
    login(c, "jijian")
    post(c, f"/clues/{clue.instance_id}/reporter", page="/inbox")           # a reveal, logged at DEBUG too
    assert NAME not in caplog.text and CONTACT not in caplog.text
    with db.connect() as conn:
        for e in conn.execute(sa.select(event.c.data_json)):
            assert NAME not in e.data_json and CONTACT not in e.data_json
    assert all(NAME not in str(e["data"]) for e in engine.events(clue.instance_id))


def test_the_api_cannot_start_a_clue_around_the_registration_page(app, clue, engine):
    """Starting `clue` through the REST API would put a reporter into workflow data: refused for every
    role that may otherwise start processes there."""
    from engine.org import accounts
    from engine.db.transactions import write_transaction
    for user in ("jijian", "owner", "admin"):
        with write_transaction(engine.db) as conn:
            token = accounts.issue_token(conn, user, engine.clock.now())[0]
        resp = app.test_client().post("/api/v1/instances", headers={"Authorization": f"Bearer {token}"},
                                      json={"process_key": "clue", "data": {"reporter_name": NAME}})
        assert resp.status_code == 403, user
        assert "专用页面" in resp.get_json()["message"]


def test_an_auditor_reads_the_clue_with_the_reporter_masked_until_the_office_grants_access(app, clue, db, engine):
    auditor = app.test_client()
    login(auditor, "auditor")
    page = auditor.get(f"/clues/{clue.instance_id}")
    assert page.status_code == 200 and NAME not in page.get_data(as_text=True)
    assert post(auditor, f"/clues/{clue.instance_id}/reporter", page="/inbox").status_code == 403
    from engine.clues import reporter_access as audit_access
    from engine.db.transactions import write_transaction
    with write_transaction(db) as conn:
        audit_access.grant_reporter_access(conn, clue.instance_id, "jijian", "auditor", engine.clock.now(),
                                           reason="2027 年巡察抽查此件")
    resp = post(auditor, f"/clues/{clue.instance_id}/reporter", page="/inbox")
    assert resp.status_code == 200 and NAME in resp.get_data(as_text=True)
    with db.connect() as conn:
        access = conn.execute(sa.select(event).where(event.c.chain == ACCESS_CHAIN)).all()
    assert [(e.type, e.actor) for e in access] == [("reporter_viewed", "auditor")]
    assert '"under_grant":true' in access[0].data_json.replace(" ", "")
