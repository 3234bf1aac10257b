"""What a form opens with: only the fields the process maps into it (the `prefill` property)."""
from __future__ import annotations

from engine.inbox.form_values import mapped, mapping


def test_a_prefill_maps_named_fields_from_the_task_data_and_nothing_else():
    data = {"department": "neike", "member": {"name": "徐丽"}, "summary": "动员会要点", "talk_date": "2026-09-29"}
    assert mapping("department, person=member.name") == {"department": "department", "person": "member.name"}
    assert mapped("department, person=member.name, missing", data) == {"department": "neike", "person": "徐丽"}
    assert mapped(None, data) == {} and mapped("", data) == {}
