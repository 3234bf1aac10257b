"""Two-factor sign-in (TOTP) for the privileged roles: after the password, a code from the
authenticator (or a single-use recovery code); a person not yet enrolled sets an authenticator up
from a QR code at their first sign-in. Nobody else is asked, and the API's token path is unchanged."""
from __future__ import annotations

import re

import pyotp
import pytest

from engine.db.transactions import write_transaction
from engine.org import people as org
from engine.org.accounts import hash_password
from engine.org.lockout import MAX_FAILURES
from tests.conftest import PASSWORD
from tests.helpers.web import csrf, login, totp_code



def _password(c, username: str):
    return c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(c)})


def _signed_in(c) -> bool:
    return c.get("/inbox").status_code == 200


def _code(c, code: str, path: str = "/login/two-factor"):
    return c.post(path, data={"code": code, "csrf_token": csrf(c, path)})


@pytest.mark.parametrize("who", ["jijian", "owner", "auditor", "admin"])
def test_a_privileged_role_is_not_signed_in_by_the_password_alone(app, people, who):
    c = app.test_client()
    resp = _password(c, who)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/two-factor")
    assert not _signed_in(c)
    assert c.get("/audit").status_code == 302
    assert _code(c, "000000").status_code == 422 and not _signed_in(c)
    resp = _code(c, totp_code(app, who))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox")
    assert _signed_in(c)


def test_staff_sign_in_with_their_password_only(app, people):
    c = app.test_client()
    resp = _password(c, "nurse")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/inbox") and _signed_in(c)


def test_a_code_is_accepted_once(app, people):
    first, thief = app.test_client(), app.test_client()
    code = totp_code(app, "jijian")
    _password(first, "jijian")
    assert _code(first, code).status_code == 302 and _signed_in(first)
    _password(thief, "jijian")
    resp = _code(thief, code)
    assert resp.status_code == 422 and "验证码不正确" in resp.get_data(as_text=True)
    assert not _signed_in(thief)


def test_wrong_codes_count_as_failed_sign_ins_and_end_the_attempt(app, people):
    c = app.test_client()
    _password(c, "jijian")
    for _ in range(MAX_FAILURES - 1):
        assert _code(c, "123456").status_code == 422
    resp = _code(c, "123456")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "锁定" in c.get("/login").get_data(as_text=True)
    assert _password(c, "jijian").status_code == 401          # locked from this address for a while


def test_a_new_privileged_person_enrols_from_a_qr_code_and_gets_single_use_recovery_codes(app, people, clock):
    with write_transaction(app.extensions["qinglian"].db) as conn:
        org.save_staff(conn, {"username": "newjj", "name": "新纪检", "department": "jijian",
                              "roles": ["staff", "discipline_office"]}, clock.now(),
                       password_hash=hash_password(PASSWORD))
    c = app.test_client()
    resp = _password(c, "newjj")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/enrol")
    page = c.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page                 # the QR code, made on the server
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    assert not _signed_in(c)
    assert _code(c, "000000", "/login/enrol").status_code == 422
    resp = _code(c, pyotp.TOTP(secret).at(clock.now()), "/login/enrol")
    codes = re.findall(r"<li><code>([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>", resp.get_data(as_text=True))
    assert resp.status_code == 200 and len(codes) == 10
    assert _signed_in(c)

    later = app.test_client()
    assert _password(later, "newjj").headers["Location"].endswith("/login/two-factor")
    assert _code(later, codes[0].lower()).status_code == 302 and _signed_in(later)
    again = app.test_client()
    _password(again, "newjj")
    assert _code(again, codes[0]).status_code == 422 and not _signed_in(again)


def test_the_api_token_path_asks_no_second_factor(client, people):
    resp = client.post("/api/v1/auth/token", json={"username": "jijian", "password": PASSWORD})
    assert resp.status_code == 201 and resp.get_json()["token"]


def test_the_login_helper_signs_in_privileged_people_again_and_again(app, people):
    clients = [app.test_client() for _ in range(3)]
    for c in clients:
        login(c, "admin")
    assert all(_signed_in(c) for c in clients)
