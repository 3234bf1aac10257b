"""Approvers decide with the case in front of them: the task page shows the clue and the earlier
steps' opinions, as the process declares (the `context` property), and the process by its name."""
from __future__ import annotations

import pytest

from tests.helpers.clues import meeting
from tests.helpers.web import login
from tests.web.test_clue_routes import clues, office, vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.real_forms


def test_the_office_approval_shows_the_clue_and_the_proposed_disposal(client, clues):
    reg = clues.register(real_name=False, summary="反映刘某收受患者红包两千元。")
    clues.do(reg.instance_id, "triage", disposal="verify", opinion="线索具体，建议初步核实", **meeting())
    approve = clues.tasks(reg.instance_id)["approve_office"].id
    login(client, "jj_head")
    page = client.get(f"/tasks/{approve}").get_data(as_text=True)
    panel = page[page.index('data-testid="case-panel"'):page.index('class="card task-form"')]
    assert "反映刘某收受患者红包两千元。" in panel and "刘某" in panel
    assert "分析研判" in panel and "线索具体，建议初步核实" in panel and "陈纪检" in panel
    assert f"/clues/{reg.instance_id}" in panel
    assert 'data-testid="process-name">问题线索处置' in page or 'data-testid="process-name">clue<' not in page


def test_a_step_that_declares_no_context_shows_no_panel(client, clues):
    reg = clues.register(real_name=True)
    notice = clues.tasks(reg.instance_id)["acceptance_notice"].id
    login(client, "jijian")
    assert 'data-testid="case-panel"' not in client.get(f"/tasks/{notice}").get_data(as_text=True)


def test_the_leadership_sees_the_office_opinion_too_but_a_clinician_sees_nothing(client, app, clues, engine):
    reg = clues.register(real_name=False, position_level="middle_manager")     # a middle manager: the group decides
    clues.do(reg.instance_id, "triage", disposal="verify", opinion="建议初步核实", **meeting())
    clues.do(reg.instance_id, "approve_office", user="jj_head", office_approved=True, office_comment="同意，报领导小组")
    tasks = clues.tasks(reg.instance_id)
    login(client, "leader")
    page = client.get(f"/tasks/{tasks['approve_leader'].id}").get_data(as_text=True)
    assert "建议初步核实" in page and "同意，报领导小组" in page
    other = app.test_client()
    login(other, "surgeon")
    resp = other.get(f"/tasks/{tasks['approve_leader'].id}")
    assert resp.status_code == 403 and "建议初步核实" not in resp.get_data(as_text=True)


