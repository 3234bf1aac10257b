"""A NUL character in any input is refused with a 422 that names the field (a path with one is a 404),
on every route, before it reaches the database — PostgreSQL cannot store it and answered 500 on
/login and a dozen other routes."""
from __future__ import annotations

import pytest

from tests.helpers.web import csrf, login
from tests.web.test_api import api, tokens  # noqa: F401  (fixtures)

pytestmark = pytest.mark.both_databases


def test_a_nul_in_the_sign_in_form_is_refused_with_a_message_saying_why(client, people):
    resp = client.post("/login", data={"csrf_token": csrf(client), "username": "nurse\x00", "password": "x"})
    assert resp.status_code == 422 and "NUL" in resp.get_data(as_text=True)


def test_a_nul_in_a_query_string_is_refused_and_in_a_path_is_not_found(client, people):
    login(client, "jijian")
    assert client.get("/inbox", query_string={"q": "a\x00b"}).status_code == 422
    assert client.get("/clues", query_string={"person": "\x00"}).status_code == 422
    assert client.get("/instances/%00").status_code == 404
    assert client.get("/inbox", query_string={"q": "刘某"}).status_code == 200   # ordinary text passes


def test_a_nul_in_a_json_body_is_a_422_naming_the_field(api, people):
    resp = api("POST", "/instances", "jijian", json={"process": "monthly_report", "data": {"note": "x\x00"}})
    assert resp.status_code == 422
    assert resp.get_json()["fields"] == {"data.note": "含有无法保存的字符"}
