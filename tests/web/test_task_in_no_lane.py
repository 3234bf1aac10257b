"""A user task in no lane has no candidate role: it goes to the person who started the instance (as in
other BPMN engines), who finds it in the inbox and completes it through the pages and the API; nobody
else may (issue 23). The decision is documented in docs/bpmn-support.md."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from engine.db.transactions import write_transaction
from engine.org import accounts
from tests.conftest import DATA


API = "/api/v1"


@pytest.fixture
def no_lane(engine, people, client):
    """W2 (its user task `step` is in no lane) deployed, a token for each person."""
    engine.deploy([SourceFile("w2.bpmn", (DATA / "bpmn" / "w2.bpmn").read_bytes())], deployed_by="owner")
    with write_transaction(engine.db) as conn:
        tokens = {u: accounts.issue_token(conn, u, engine.clock.now())[0] for u in ("jijian", "owner", "nurse")}

    def call(method, path, user, **kw):
        return client.open(API + path, method=method, headers={"Authorization": f"Bearer {tokens[user]}"}, **kw)
    return call


def test_a_task_in_no_lane_goes_to_the_starter_who_completes_it_through_the_api(no_lane):
    resp = no_lane("POST", "/instances", "jijian", json={"process_key": "w2_process"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    (task,) = resp.get_json()["tasks"]

    claimable = no_lane("GET", "/tasks?view=claimable", "jijian").get_json()["items"]
    assert [t["id"] for t in claimable] == [task["id"]]            # in the starter's inbox, to take up
    assert no_lane("GET", f"/tasks/{task['id']}", "jijian").get_json()["can_work"] is True

    resp = no_lane("POST", f"/tasks/{task['id']}/complete", "jijian", json={"data": {}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    (following,) = resp.get_json()["tasks"]                         # the next pass, again the starter's
    assert following["element_id"] == "step"
    claimable = no_lane("GET", "/tasks?view=claimable", "jijian").get_json()["items"]
    assert [t["id"] for t in claimable] == [following["id"]]


def test_nobody_else_sees_or_completes_a_task_in_no_lane(no_lane):
    (task,) = no_lane("POST", "/instances", "jijian", json={"process_key": "w2_process"}).get_json()["tasks"]
    for user in ("owner", "nurse"):                    # another starter-capable role, a plain staff member
        for view in ("mine", "claimable"):
            assert no_lane("GET", f"/tasks?view={view}", user).get_json()["items"] == []
        resp = no_lane("POST", f"/tasks/{task['id']}/complete", user, json={"data": {}})
        assert resp.status_code in (403, 404), (user, resp.get_data(as_text=True))
