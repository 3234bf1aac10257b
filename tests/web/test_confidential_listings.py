"""A confidential process (a voluntary disclosure, 主动说明) lists its running instances — who started
them, their business keys, their ids — only to the roles it names; to anyone else, on every page and
API route that lists instances, only counts."""
from __future__ import annotations

import re

import sqlalchemy as sa

import pytest

from engine.db.schema import process_instance
from tests.web.test_campaign import campaign_id  # noqa: F401  (fixture)
from tests.conftest import PASSWORD
from tests.helpers.web import login, post

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def _disclose(app, db) -> str:
    nurse = app.test_client()
    login(nurse, "nurse")
    resp = post(nurse, "/start/campaign_disclosure", {"issues[0].summary": "收受患者红包", "money": "0.2",
                                                      "business_key": "王护士的说明"}, page="/start/campaign_disclosure")
    assert resp.status_code == 302
    with db.connect() as conn:
        return conn.execute(sa.select(process_instance.c.id).where(
            process_instance.c.process_key == "campaign_disclosure")).scalar_one()


def _instance_list(page: str) -> str:
    found = re.search(r'data-testid="instance-list".*?</table>', page, re.S)
    assert found, "no list of running instances"
    return found.group(0)


def test_the_versions_page_shows_a_process_owner_only_how_many_disclosures_run(app, db, campaign_id):
    disclosure = _disclose(app, db)
    for who in ("owner", "admin"):
        c = app.test_client()
        login(c, who)
        page = c.get("/modeler/campaign_disclosure/versions").get_data(as_text=True)
        listed = _instance_list(page)
        assert disclosure[:8] not in page and "王护士的说明" not in page, who
        assert "nurse" not in listed, who
        assert 'data-testid="instance-count"' in listed and ">1<" in listed, who


def test_the_audit_search_and_heatmap_hide_disclosures_from_administrators(app, db, campaign_id):
    disclosure = _disclose(app, db)
    c = app.test_client()
    login(c, "admin")
    assert disclosure not in c.get("/audit?q=王护士").get_data(as_text=True)
    assert disclosure not in c.get("/audit").get_data(as_text=True)
    office = app.test_client()
    login(office, "jijian")
    assert disclosure in office.get("/audit").get_data(as_text=True)     # the role it names sees it


def test_the_api_does_not_show_a_disclosure_to_a_process_owner(app, db, campaign_id):
    disclosure = _disclose(app, db)
    c = app.test_client()
    token = c.post("/api/v1/auth/token", json={"username": "owner", "password": PASSWORD}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    for path in (f"/api/v1/instances/{disclosure}", f"/api/v1/instances/{disclosure}/events"):
        resp = c.get(path, headers=auth)
        assert resp.status_code in (403, 404) and "nurse" not in resp.get_data(as_text=True), path
