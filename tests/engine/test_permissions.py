"""Who may do what, said once: the role groups and the predicates the pages, the API and the menu ask."""
from __future__ import annotations

from engine import permissions
from engine.org.people import Principal
from engine.org.roles import BUILTIN_ROLES


def who(*roles: str, heads: frozenset = frozenset()) -> Principal:
    return Principal("x", "某人", "neike", frozenset(roles), heads=heads)


def test_every_group_names_only_builtin_roles():
    codes = {code for code, _zh, _en in BUILTIN_ROLES}
    groups = (permissions.ADMINS, permissions.CLUE_OFFICE, permissions.CLUE_READERS, permissions.CLUE_MANAGERS,
              permissions.CAMPAIGN_VIEWERS, permissions.AUDITORS, permissions.AUDIT_READ_ONLY,
              permissions.PROCESS_EDITORS, permissions.INSTANCE_STARTERS)
    assert all(set(group) <= codes for group in groups)


def test_an_auditor_reads_clues_but_only_the_office_or_a_grant_reveals_a_reporter():
    auditor, office = who("auditor"), who("staff", "discipline_office")
    assert permissions.may_read_clues(auditor) and not permissions.may_handle_clues(auditor)
    assert not permissions.may_reveal_reporter(auditor) and permissions.may_reveal_reporter(auditor, granted=True)
    assert permissions.may_reveal_reporter(office) and permissions.may_handle_clues(office)
    assert not permissions.may_read_clues(who("staff"))


def test_a_department_head_sees_their_own_departments_campaign_work_only():
    head = who("staff", "department_head", heads=frozenset({"neike"}))
    assert permissions.may_see_campaign_menu(head) and not permissions.may_view_campaigns(head)
    assert permissions.may_view_department(head, "neike") and not permissions.may_view_department(head, "waike")
    assert permissions.may_view_department(who("task_force"), "waike")
    assert not permissions.may_see_campaign_menu(who("staff"))


def test_the_modeler_the_audit_trail_and_administration_each_have_their_group():
    assert permissions.may_edit_processes(who("process_owner")) and not permissions.may_edit_processes(who("auditor"))
    assert permissions.may_audit(who("auditor")) and not permissions.may_audit(who("process_owner"))
    assert permissions.may_administer(who("admin")) and not permissions.may_administer(who("discipline_office"))
