"""Sessions live on the server: signing out, a password change, a role change or a reset by an
administrator ends a person's sessions and revokes their API tokens; a session also ends after
`session_idle_minutes` without a request and `session_hours` after signing in. A cookie saved before
signing out is refused when replayed."""
from __future__ import annotations

from datetime import timedelta

from tests.conftest import PASSWORD
from tests.helpers.web import login, post

COOKIE = "qinglian_session"


def _signed_in(c) -> bool:
    resp = c.get("/inbox")
    return resp.status_code == 200


def _token(c, who: str, password: str = PASSWORD) -> dict:
    token = c.post("/api/v1/auth/token", json={"username": who, "password": password}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _token_works(c, auth) -> bool:
    return c.get("/api/v1/tasks", headers=auth).status_code == 200


def test_a_cookie_replayed_after_signing_out_is_refused(app, people):
    c = app.test_client()
    login(c, "nurse")
    saved = c.get_cookie(COOKIE).value
    assert _signed_in(c)
    post(c, "/logout")
    assert not _signed_in(c)
    thief = app.test_client()
    thief.set_cookie(COOKIE, saved)
    resp = thief.get("/inbox")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_changing_ones_password_ends_the_other_sessions_and_revokes_the_tokens(app, people):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "nurse")
    login(elsewhere, "nurse")
    auth = _token(here, "nurse")
    assert _token_works(here, auth)
    resp = post(here, "/account/password", {"old_password": PASSWORD, "new_password": "Another-horse-8",
                                            "confirm_password": "Another-horse-8"}, page="/account/password")
    assert resp.status_code == 302
    assert _signed_in(here)                  # the person who changed it stays signed in
    assert not _signed_in(elsewhere)
    assert not _token_works(here, auth)


def test_a_role_change_or_a_reset_by_an_administrator_ends_the_persons_sessions(app, people):
    nurse = app.test_client()
    login(nurse, "nurse")
    auth = _token(nurse, "nurse")
    admin = app.test_client()
    login(admin, "admin")
    form = {"name": "王护士", "department": "neike", "position_level": "other", "locale": "zh", "active": "1",
            "roles": ["staff", "task_force"]}
    assert post(admin, "/admin/staff/nurse", form, page="/admin/staff/nurse").status_code == 302
    assert not _signed_in(nurse) and not _token_works(nurse, auth)

    login(nurse, "nurse")
    assert _signed_in(nurse)
    assert post(admin, "/admin/staff/nurse", form, page="/admin/staff/nurse").status_code == 302
    assert _signed_in(nurse)                 # saving without a change ends nothing
    assert post(admin, "/admin/staff/nurse", {**form, "password": "Reset-by-admin-9"},
                page="/admin/staff/nurse").status_code == 302
    assert not _signed_in(nurse)


def test_a_session_ends_after_thirty_idle_minutes_and_twelve_hours_at_most(app, people, clock):
    c = app.test_client()
    login(c, "nurse")
    clock.advance(timedelta(minutes=29))
    assert _signed_in(c)
    clock.advance(timedelta(minutes=31))
    assert not _signed_in(c)

    login(c, "nurse")
    for _ in range(12 * 3):                  # busy all day: a request every 20 minutes
        assert _signed_in(c)
        clock.advance(timedelta(minutes=20))
    assert not _signed_in(c)
