"""Adding a staff member never overwrites someone: a taken username is refused next to the field, with
what was typed kept; editing is its own action and keeps what its form could not show."""
from __future__ import annotations

from engine.org import people as org
from engine.db.transactions import read_transaction, write_transaction
from tests.helpers.web import login, post


NEW = {"name": "王新护士", "department": "waike", "position_level": "other", "roles": ["staff"], "active": "1",
       "locale": "zh", "email": "new@example.org"}


def _person(db, username):
    with read_transaction(db) as conn:
        return org.get_staff(conn, username)


def test_adding_a_person_with_a_taken_username_is_refused_next_to_the_field_and_changes_nobody(client, people, db):
    before = _person(db, "neike_head")
    login(client, "admin")
    resp = post(client, "/admin/staff/new", {**NEW, "username": "neike_head"}, page="/admin/staff/new")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="username-error"' in page and "neike_head 已被使用" in page
    assert 'value="王新护士"' in page and 'value="new@example.org"' in page      # the input is kept
    assert "已保存" not in page
    after = _person(db, "neike_head")
    assert (after["name"], after["department"], after["roles"]) == (before["name"], before["department"], before["roles"])
    assert after["roles"] == ["department_head", "staff"]


def test_editing_keeps_a_department_the_form_could_not_offer(client, people, db, clock):
    with write_transaction(db) as conn:
        org.save_department(conn, {"code": "old", "name_zh": "旧科室", "category": "clinical", "active": False}, clock.now())
        org.save_staff(conn, {"username": "retired", "name": "老职工", "department": "old", "roles": ["staff"]}, clock.now())
    login(client, "admin")
    resp = post(client, "/admin/staff/retired", {"name": "老职工（返聘）", "department": "", "position_level": "other",
                                                 "roles": ["staff"], "active": "1", "locale": "zh"},
                page="/admin/staff/retired")
    assert resp.status_code == 302
    assert _person(db, "retired")["department"] == "old" and _person(db, "retired")["name"] == "老职工（返聘）"


def test_editing_someone_who_does_not_exist_is_not_found_rather_than_a_new_person(client, people, db):
    login(client, "admin")
    resp = post(client, "/admin/staff/ghost", {**NEW}, page="/admin/staff/new")
    assert resp.status_code == 404
