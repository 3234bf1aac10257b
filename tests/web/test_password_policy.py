"""Level-3 passwords: at least 8 characters of three classes (lower case, upper case, digits, other),
not a common password and not one of the person's last ones; an unknown username is answered and
locked exactly like an account, so that the answers do not tell which usernames exist."""
from __future__ import annotations

import re

import pytest

from engine.errors import Invalid
from engine.org import accounts
from tests.conftest import PASSWORD
from tests.helpers.web import login, post

PAGE = "/account/password"
CSRF_VALUE = re.compile(r'(?<=name="csrf_token" value=")[^"]+')     # differs per session, whoever signs in


@pytest.mark.parametrize("password,why", [
    ("abcdefgh", "三类"), ("abcd1234", "三类"), ("ABCDefgh", "三类"), ("Ab1!", "至少 8 位"),
    ("P@ssw0rd", "常见"), ("Aa123456", "常见"), ("1qaz@WSX", "常见"), ("Admin@123", "常见"),
])
def test_a_weak_password_is_refused_with_the_reason(password, why):
    problems = accounts.check_new_password("nurse", password)
    assert problems and why in problems[0].message, (password, problems)


def test_a_password_of_three_classes_is_accepted():
    assert accounts.check_new_password("nurse", "Mine-again-42") == []
    assert accounts.check_new_password("nurse", "new-secret-9") == []


def test_a_previous_password_cannot_be_chosen_again(app, people):
    c = app.test_client()
    login(c, "nurse")
    for old, new in ((PASSWORD, "Second-pass-1"), ("Second-pass-1", "Third-pass-2")):
        resp = post(c, PAGE, {"old_password": old, "new_password": new, "confirm_password": new}, page=PAGE)
        assert resp.status_code == 302
    for reused in (PASSWORD, "Second-pass-1", "Third-pass-2"):
        resp = post(c, PAGE, {"old_password": "Third-pass-2", "new_password": reused, "confirm_password": reused},
                    page=PAGE)
        assert resp.status_code == 422 and "曾经使用" in resp.get_data(as_text=True), reused


def test_the_lockout_answer_does_not_tell_whether_a_username_exists(app, people):
    answers = {}
    for who in ("nurse", "nobody-here"):
        c = app.test_client()
        pages = [login(c, who, "wrong-password-0") for _ in range(6)]
        assert all(p.status_code == 401 for p in pages)
        answers[who] = [CSRF_VALUE.sub("", p.get_data(as_text=True)).replace(who, "USER") for p in pages]
    assert answers["nurse"] == answers["nobody-here"]          # wrong five times, then locked: both alike
    assert "锁定" in answers["nurse"][-1] and "锁定" not in answers["nurse"][0]
    assert login(app.test_client(), "nurse").status_code == 401   # locked: even the right password waits
