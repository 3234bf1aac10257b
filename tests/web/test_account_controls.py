"""Level-3 account controls beyond the password rules: a privileged role's password expires (90 days
by default) and must be changed at sign-in; failed sign-ins are counted per name and source address,
per source and per name, so that a stranger guessing an office member's username stops themselves,
never the member at their own desk."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.db.schema import staff
from engine.db.transactions import write_transaction
from engine.org import lockout
from tests.conftest import PASSWORD
from tests.helpers.web import csrf, login



def _client(app, address: str):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def _try(c, username: str, password: str):
    return c.post("/login", data={"username": username, "password": password, "csrf_token": csrf(c)})


def _age_password(app, username: str, days: int) -> None:
    eng = app.extensions["qinglian"]
    with write_transaction(eng.db) as conn:
        conn.execute(staff.update().where(staff.c.username == username)
                     .values(password_changed_at=eng.clock.now() - timedelta(days=days)))


def test_a_privileged_roles_password_older_than_90_days_must_be_changed_at_sign_in(app, people):
    _age_password(app, "jijian", 91)
    _age_password(app, "nurse", 400)                 # staff: no expiry
    office = app.test_client()
    resp = login(office, "jijian")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    assert office.get("/clues").headers["Location"].endswith("/account/password")
    assert "规定期限" in office.get("/account/password").get_data(as_text=True)
    resp = office.post("/account/password", data={"old_password": PASSWORD, "new_password": "Fresh-start-2026",
                                                  "confirm_password": "Fresh-start-2026",
                                                  "csrf_token": csrf(office, "/account/password")})
    assert resp.status_code == 302 and office.get("/clues").status_code == 200
    nurse = app.test_client()
    assert login(nurse, "nurse").headers["Location"].endswith("/inbox")


def test_89_days_are_not_yet_due(app, people):
    _age_password(app, "jijian", 89)
    assert login(app.test_client(), "jijian").headers["Location"].endswith("/inbox")


def test_a_stranger_guessing_locks_only_themselves_out(app, people):
    stranger, desk = _client(app, "10.0.0.66"), _client(app, "10.0.0.7")
    for _ in range(lockout.MAX_FAILURES):
        assert _try(stranger, "jijian", "Guess-0000!").status_code == 401
    assert "锁定" in _try(stranger, "jijian", PASSWORD).get_data(as_text=True)   # locked, from there
    assert login(desk, "jijian").headers["Location"].endswith("/inbox")          # the member is not


def test_a_source_trying_many_names_is_stopped(app, people):
    sprayer = _client(app, "10.0.0.99")
    names = [f"user{i}" for i in range(lockout.SOURCE_MAX_FAILURES)]
    for name in names:
        _try(sprayer, name, "Spring-2026!")
    body = _try(sprayer, "nurse", PASSWORD).get_data(as_text=True)
    assert "锁定" in body                                   # even the right password, from that source
    assert login(_client(app, "10.0.0.5"), "nurse").headers["Location"].endswith("/inbox")


def test_guessing_from_many_sources_slows_strangers_but_not_the_members_known_desk(app, people, clock):
    desk = _client(app, "10.0.0.7")
    login(desk, "jijian")                                   # the desk the member signs in from
    for i in range(lockout.NAME_SLOW_AFTER):
        _try(_client(app, f"10.1.0.{i}"), "jijian", "Guess-0000!")
    newcomer = _client(app, "10.2.0.1")
    assert "锁定" in _try(newcomer, "jijian", PASSWORD).get_data(as_text=True)  # must wait NAME_DELAY
    assert login(_client(app, "10.0.0.7"), "jijian").headers["Location"].endswith("/inbox")
    clock.advance(lockout.NAME_DELAY)
    for i in range(lockout.NAME_SLOW_AFTER):                # the member signed in: counts start again
        _try(_client(app, f"10.3.0.{i}"), "jijian", "Guess-0000!")
    clock.advance(lockout.NAME_DELAY)
    assert login(_client(app, "10.2.0.1"), "jijian").headers["Location"].endswith("/inbox")


def test_addresses_are_stored_only_as_hashes(app, people, db):
    _try(_client(app, "10.0.0.66"), "jijian", "Guess-0000!")
    with db.connect() as conn:
        sources = {r for (r,) in conn.execute(sa.text("SELECT source FROM login_attempt"))}
    assert sources and not any("10.0.0.66" in s for s in sources)
