"""Helpers for tests that drive the web app through Flask's test client."""
from __future__ import annotations

import re

from tests.conftest import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf(client)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return resp


def post(client, path: str, data: dict | None = None, *, page: str = "/inbox", **kwargs):
    """POST a form the way the browser would: with the CSRF token of the signed-in session."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf(client, page))
    return client.post(path, data=data, **kwargs)
