"""Signing in through the hospital's directory (a real OpenLDAP slapd): the password is checked by
binding as the person; their groups become roles and their department attribute a department; the
staff sync creates, changes and deactivates — never deletes — and logs each change."""
from __future__ import annotations

import json
from datetime import timedelta

import ldap3
import pytest
import sqlalchemy as sa

from engine.db.schema import event, staff
from engine.db.transactions import write_transaction
from engine.org import people as org
from engine.org.accounts import AuthenticationFailed
from engine.signon import doors
from engine.signon.ldap import Directory, DirectoryUnavailable
from engine.signon.sync import sync_staff
from tests.helpers.slapd import BASE

pytestmark = pytest.mark.both_databases
HOURS = timedelta(hours=8)


@pytest.fixture
def departments(db, clock):
    with write_transaction(db) as conn:
        for code, name in (("neike", "内科"), ("jijian", "纪检监察室")):
            org.save_department(conn, {"code": code, "name_zh": name, "category": "clinical"}, clock.now())


def _staff(db, username):
    with db.connect() as conn:
        return conn.execute(sa.select(staff).where(staff.c.username == username)).one_or_none()


def _roles(engine, username):
    return sorted(org.signed_in(engine, username).roles)


def test_a_directory_person_signs_in_with_the_directory_password_and_gets_an_account(engine, db, departments,
                                                                                      directory):
    who, secret, must_change = doors.sign_in_with_password(engine, directory, "zhaoqiang", "Zhao-qiang-2026", HOURS)
    assert who.username == "zhaoqiang" and secret and not must_change
    row = _staff(db, "zhaoqiang")
    assert (row.name, row.department, row.sign_in_method, row.password_hash) == ("赵强", "neike", "ldap", None)
    assert _roles(engine, "zhaoqiang") == ["department_head"]          # the group neike-heads


def test_a_wrong_directory_password_and_an_empty_one_are_refused_alike(engine, departments, directory):
    for password in ("wrong-password", ""):
        with pytest.raises(AuthenticationFailed, match="用户名或密码错误"):
            doors.sign_in_with_password(engine, directory, "wanghong", password, HOURS)
    with pytest.raises(AuthenticationFailed, match="用户名或密码错误"):
        doors.sign_in_with_password(engine, directory, "nobody*)(uid=*", "x", HOURS)


def test_five_wrong_directory_passwords_lock_the_name(engine, departments, directory):
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            doors.sign_in_with_password(engine, directory, "wanghong", "wrong-password", HOURS)
    with pytest.raises(AuthenticationFailed, match="锁定"):
        doors.sign_in_with_password(engine, directory, "wanghong", "Wang-hong-2026", HOURS)


def test_a_local_break_glass_account_keeps_its_password_and_is_not_asked_of_the_directory(
        engine, people, directory):
    who, _, _ = doors.sign_in_with_password(engine, directory, "admin", "correct-horse-7", HOURS)
    assert who.username == "admin"


def test_a_person_whose_way_in_is_the_directory_cannot_use_an_old_local_password(engine, people, directory, db):
    doors.set_method(engine, "nurse", "ldap", by="admin")
    with pytest.raises(AuthenticationFailed):
        doors.sign_in_with_password(engine, None, "nurse", "correct-horse-7", HOURS)


def test_a_directory_that_does_not_answer_says_so(engine, departments):
    gone = Directory("ldap://127.0.0.1:9", "cn=x", "y", BASE)
    with pytest.raises(DirectoryUnavailable):
        doors.sign_in_with_password(engine, gone, "wanghong", "Wang-hong-2026", HOURS)


def test_the_sync_creates_changes_and_disables_but_never_deletes(engine, db, clock, departments, directory, slapd):
    report = sync_staff(engine, directory)
    assert (report.created, report.changed, report.disabled) == (3, 0, 0)
    assert _staff(db, "wanghong").phone == "13900000001"
    assert sync_staff(engine, directory) == type(report)(0, 0, 0)          # nothing changed, nothing logged

    admin = slapd.admin()
    admin.modify(f"uid=wanghong,ou=people,{BASE}", {"cn": [(ldap3.MODIFY_REPLACE, ["王红梅"])],
                                                     "departmentNumber": [(ldap3.MODIFY_REPLACE, ["JJ01"])]})
    admin.delete(f"uid=lijun,ou=people,{BASE}")
    try:
        clock.set(clock.now() + timedelta(hours=1))
        report = sync_staff(engine, directory)
        assert (report.created, report.changed, report.disabled) == (0, 1, 1)
        assert (_staff(db, "wanghong").name, _staff(db, "wanghong").department) == ("王红梅", "jijian")
        gone = _staff(db, "lijun")
        assert gone is not None and gone.active is False                    # kept, not deleted
        with pytest.raises(AuthenticationFailed):
            doors.sign_in_with_password(engine, directory, "lijun", "Li-jun-2026", HOURS)
        with db.connect() as conn:
            logged = [(r.type, json.loads(r.data_json).get("username"), r.actor)
                      for r in conn.execute(sa.select(event).where(event.c.chain == "administration")
                                            .order_by(event.c.seq))]
        assert ("account_changed", "wanghong", "ldap-sync") in logged
        assert ("account_changed", "lijun", "ldap-sync") in logged
    finally:
        admin.modify(f"uid=wanghong,ou=people,{BASE}", {"cn": [(ldap3.MODIFY_REPLACE, ["王红"])],
                                                         "departmentNumber": [(ldap3.MODIFY_REPLACE, ["NK01"])]})
        admin.add(f"uid=lijun,ou=people,{BASE}", ["inetOrgPerson"],
                  {"uid": "lijun", "cn": "李军", "sn": "李", "departmentNumber": "JJ01", "userPassword": "Li-jun-2026"})
        admin.unbind()


def test_a_person_returning_to_the_directory_is_active_again_unless_an_administrator_deactivated_them(
        engine, db, clock, departments, directory, slapd):
    sync_staff(engine, directory)
    admin = slapd.admin()
    lijun = (f"uid=lijun,ou=people,{BASE}", ["inetOrgPerson"],
             {"uid": "lijun", "cn": "李军", "sn": "李", "departmentNumber": "JJ01", "userPassword": "Li-jun-2026"})
    admin.delete(lijun[0])
    try:
        clock.set(clock.now() + timedelta(hours=1))
        assert sync_staff(engine, directory).disabled == 1
        assert _staff(db, "lijun").active is False and _staff(db, "lijun").deactivated_by == "ldap-sync"
    finally:
        admin.add(*lijun)                                                  # back from a year abroad
    clock.set(clock.now() + timedelta(hours=1))
    report = sync_staff(engine, directory)
    assert (report.created, report.changed, report.disabled, report.reactivated) == (0, 0, 0, 1)
    assert _staff(db, "lijun").active is True and _staff(db, "lijun").deactivated_by is None
    who, _, _ = doors.sign_in_with_password(engine, directory, "lijun", "Li-jun-2026", HOURS)
    assert who.username == "lijun"
    # an administrator's deactivation holds, though the directory still has the person
    with write_transaction(db) as conn:
        org.save_staff(conn, {**org.get_staff(conn, "wanghong"), "active": False}, clock.now(), actor="admin")
    assert sync_staff(engine, directory) == type(report)(0, 0, 0, 0)
    assert _staff(db, "wanghong").active is False and _staff(db, "wanghong").deactivated_by == "admin"
    with pytest.raises(AuthenticationFailed):
        doors.sign_in_with_password(engine, directory, "wanghong", "Wang-hong-2026", HOURS)
    admin.unbind()


def test_the_sync_runs_on_the_scheduler_every_configured_minutes(engine, db, departments, slapd):
    from apscheduler.schedulers.background import BackgroundScheduler

    from engine.bootstrap import scheduled_jobs
    from engine.config import Settings
    from engine.deadlines.scheduler import TimerScheduler
    from tests.helpers.slapd import SERVICE_DN, SERVICE_PASSWORD
    settings = Settings.from_env({"QINGLIAN_LDAP_URL": slapd.url, "QINGLIAN_LDAP_BIND_DN": SERVICE_DN,
                                  "QINGLIAN_LDAP_BIND_PASSWORD": SERVICE_PASSWORD, "QINGLIAN_LDAP_BASE_DN": BASE,
                                  "QINGLIAN_LDAP_DEPARTMENTS": '{"NK01": "neike"}', "QINGLIAN_LDAP_SYNC_MINUTES": "30",
                                  "QINGLIAN_DIGEST_HOURS": "0", "QINGLIAN_ANALYTICS_MINUTES": "0"})
    assert [j[0] for j in scheduled_jobs(Settings.from_env({"QINGLIAN_DIGEST_HOURS": "0", "QINGLIAN_ANALYTICS_MINUTES": "0"}), engine)] == [
        "qinglian-log-retention"]
    jobs = [j for j in scheduled_jobs(settings, engine) if j[0] == "qinglian-staff-sync"]
    aps = BackgroundScheduler()
    TimerScheduler(engine, jobs=jobs)._add_jobs(aps)
    assert aps.get_job("qinglian-staff-sync").trigger.interval == timedelta(minutes=30)
    [(_, _, run)] = jobs
    assert run().created == 3
    assert _staff(db, "zhaoqiang").department == "neike"


def test_a_compound_user_filter_as_active_directory_needs_it_finds_the_person(engine, db, departments, slapd):
    from tests.helpers.slapd import SERVICE_DN, SERVICE_PASSWORD
    ad_like = Directory(slapd.url, SERVICE_DN, SERVICE_PASSWORD, BASE, "(&(objectClass=inetOrgPerson)(uid={username}))",
                        departments={"NK01": "neike"})
    who, _, _ = doors.sign_in_with_password(engine, ad_like, "wanghong", "Wang-hong-2026", HOURS)
    assert who.username == "wanghong" and _staff(db, "wanghong").email == "wanghong@hospital.example"
    assert len(ad_like.everyone()) == 3
