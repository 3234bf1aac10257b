"""Helpers for tests that drive the web app through Flask's test client."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from engine.db.schema import staff
from engine.org import two_factor
from tests.conftest import PASSWORD, TOTP_SECRET

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, *, totp_secret: str = TOTP_SECRET):
    """Sign in as the browser would; a privileged person (enrolled by the `people` fixture with
    TOTP_SECRET) also answers the second step with their authenticator's code."""
    token = csrf(client)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    if resp.status_code == 302 and resp.headers["Location"].endswith("/login/two-factor"):
        resp = client.post("/login/two-factor", data={"code": totp_code(client.application, username, totp_secret),
                                                      "csrf_token": csrf(client, "/login/two-factor")})
    elif resp.status_code == 302 and resp.headers["Location"].endswith("/login/enrol"):
        # a privileged person the test made without an authenticator: enrol one, as at a first sign-in
        page = client.get("/login/enrol").get_data(as_text=True)
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
        step = int(client.application.extensions["qinglian"].clock.now().timestamp()) // two_factor.STEP
        resp = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).generate_otp(step),
                                                 "csrf_token": _CSRF.search(page).group(1)})
    return resp


def totp_code(app, username: str, secret: str = TOTP_SECRET) -> str:
    """A code the app accepts now: each code is accepted once, so a second sign-in within the same
    30 seconds takes the next step's code (accepted for clock drift), and a third moves the app's
    fixed clock on to the next step."""
    eng = app.extensions["qinglian"]
    with eng.db.connect() as conn:
        last = conn.execute(sa.select(staff.c.totp_last_step).where(staff.c.username == username)).scalar()
    current = int(eng.clock.now().timestamp()) // two_factor.STEP
    step = current if last is None else max(current, last + 1)
    if step > current + 1:
        eng.clock.advance(timedelta(seconds=two_factor.STEP * (step - current - 1)))
    return pyotp.TOTP(secret).generate_otp(step)


def post(client, path: str, data: dict | None = None, *, page: str = "/inbox", **kwargs):
    """POST a form the way the browser would: with the CSRF token of the signed-in session."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf(client, page))
    return client.post(path, data=data, **kwargs)
