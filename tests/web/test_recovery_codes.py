"""After enrolment: a person renews their recovery codes (a new set, the old ones dead) or removes their
authenticator (a new phone), each proven by a current code; the security administrator — and no other
administrator — resets someone else's. Every one of these is an event of the administration chain."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from engine.db.schema import event, notification, staff
from engine.org.admin_log import ADMIN_CHAIN
from tests.conftest import PASSWORD
from tests.helpers.web import csrf, login, totp_code


PAGE = "/account/two-factor"


def _act(c, action: str, code: str):
    return c.post(PAGE, data={"action": action, "code": code, "csrf_token": csrf(c, PAGE)})


def _codes(resp) -> list[str]:
    return re.findall(r"<li><code>([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>", resp.get_data(as_text=True))


def _log(db, type_: str) -> list[tuple]:
    with db.connect() as conn:
        return [(r.actor, json.loads(r.data_json)["username"]) for r in conn.execute(
            sa.select(event.c.actor, event.c.data_json).where(event.c.chain == ADMIN_CHAIN, event.c.type == type_))]


def _password_step(app, username: str) -> str:
    c = app.test_client()
    resp = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf(c)})
    return resp.headers["Location"]


def _enrolled(db, username: str) -> bool:
    with db.connect() as conn:
        return bool(conn.execute(sa.select(staff.c.totp_secret).where(staff.c.username == username)).scalar())


def test_renewing_recovery_codes_needs_a_code_and_ends_the_old_ones(app, people, db):
    c = app.test_client()
    login(c, "jijian")
    page = c.get(PAGE)
    assert page.status_code == 200 and "剩余 0 个未使用的恢复码" in page.get_data(as_text=True)
    wrong = _act(c, "renew", "000000")
    assert wrong.status_code == 422
    assert 'id="code-renew-error"' in wrong.get_data(as_text=True) and "验证码或恢复码不正确" in wrong.get_data(as_text=True)

    first = _codes(_act(c, "renew", totp_code(app, "jijian")))
    assert len(first) == 10
    second = _act(c, "renew", first[0])                   # a recovery code proves it too, and is spent
    assert second.status_code == 200 and "以前的恢复码全部失效" in second.get_data(as_text=True)
    second = _codes(second)
    assert len(second) == 10 and not set(first) & set(second)
    assert "剩余 10 个" in c.get(PAGE).get_data(as_text=True)

    other = app.test_client()                             # an old code no longer signs in; a new one does
    other.post("/login", data={"username": "jijian", "password": PASSWORD, "csrf_token": csrf(other)})
    assert other.post("/login/two-factor", data={"code": first[1], "csrf_token": csrf(other, "/login/two-factor")}
                      ).status_code == 422
    assert other.post("/login/two-factor", data={"code": second[1], "csrf_token": csrf(other, "/login/two-factor")}
                      ).status_code == 302
    assert _log(db, "recovery_codes_renewed") == [("jijian", "jijian"), ("jijian", "jijian")]


def test_removing_ones_own_authenticator_signs_out_and_the_next_sign_in_enrols(app, people, db):
    c = app.test_client()
    login(c, "jijian")
    assert _act(c, "remove", "123456").status_code == 422 and _enrolled(db, "jijian")
    resp = _act(c, "remove", totp_code(app, "jijian"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert c.get("/inbox").status_code == 302                    # signed out
    assert not _enrolled(db, "jijian")
    assert _password_step(app, "jijian").endswith("/login/enrol")
    assert _log(db, "two_factor_removed") == [("jijian", "jijian")]


def test_the_security_administrator_resets_someone_elses_authenticator(app, people, db):
    victim = app.test_client()
    login(victim, "jijian")
    sec = app.test_client()
    login(sec, "security")
    page = sec.get("/admin/staff/jijian").get_data(as_text=True)
    assert 'data-testid="two-factor"' in page and "重置双因素验证" in page
    resp = sec.post("/admin/staff/jijian/two-factor", data={"csrf_token": csrf(sec, "/admin/staff/jijian")})
    assert resp.status_code == 302
    assert "已重置 jijian 的双因素验证" in sec.get(resp.headers["Location"]).get_data(as_text=True)
    assert not _enrolled(db, "jijian")
    assert victim.get("/inbox").status_code == 302                # their sessions ended
    assert _password_step(app, "jijian").endswith("/login/enrol")
    assert _log(db, "two_factor_reset") == [("security", "jijian")]
    with db.connect() as conn:
        assert conn.execute(sa.select(notification.c.title).where(
            notification.c.recipient_user == "jijian", notification.c.kind == "two_factor_reset")).scalar() \
            == "你的双因素验证已被安全管理员重置"


@pytest.mark.parametrize("who, target, message", [
    ("admin", "jijian", "只有安全管理员可以重置他人的双因素验证"),      # 三员分立: not the system administrator
    ("security", "security", "不能重置自己的双因素验证"),
])
def test_no_one_else_resets_an_authenticator(app, people, db, who, target, message):
    c = app.test_client()
    login(c, who)
    resp = c.post(f"/admin/staff/{target}/two-factor", data={"csrf_token": csrf(c, f"/admin/staff/{target}")})
    assert resp.status_code == 302
    assert message in c.get(resp.headers["Location"]).get_data(as_text=True)
    assert _enrolled(db, target) and _log(db, "two_factor_reset") == []


def test_wrong_codes_count_as_failed_sign_ins_and_too_many_sign_the_person_out(app, people, db):
    from engine.org.lockout import MAX_FAILURES
    c = app.test_client()
    login(c, "jijian")
    for _ in range(MAX_FAILURES - 1):
        assert _act(c, "remove", "000000").status_code == 422
    resp = _act(c, "remove", "000000")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "锁定" in c.get("/login").get_data(as_text=True)
    assert c.get("/inbox").status_code == 302 and _enrolled(db, "jijian")
    assert _log(db, "two_factor_removed") == []


def test_an_auditor_renews_their_own_codes_despite_being_read_only(app, people):
    c = app.test_client()
    login(c, "auditor")
    assert len(_codes(_act(c, "renew", totp_code(app, "auditor")))) == 10


def test_the_header_links_the_page_for_those_who_sign_in_with_two_factors(app, people):
    office, nurse = app.test_client(), app.test_client()
    login(office, "jijian")
    login(nurse, "nurse")
    assert 'href="/account/two-factor"' in office.get("/inbox").get_data(as_text=True)
    assert 'href="/account/two-factor"' not in nurse.get("/inbox").get_data(as_text=True)
