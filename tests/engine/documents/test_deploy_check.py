"""A step may only declare an official document the engine has a template for: deploying a process
whose step names an unknown `document` is refused, naming the step, before anything is deployed."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from engine.config import PROJECT_ROOT
from engine.errors import Invalid

pytestmark = pytest.mark.real_forms


def _monthly_report(document: str) -> bytes:
    xml = (PROJECT_ROOT / "processes" / "monthly_report.bpmn").read_text(encoding="utf-8")
    return xml.replace('name="document" value="月度工作进展报告"', f'name="document" value="{document}"').encode()


def test_deploying_a_step_that_declares_an_unknown_document_is_refused_naming_the_step(engine):
    with pytest.raises(Invalid) as refused:
        engine.deploy([SourceFile("monthly_report.bpmn", _monthly_report("月度工作进展报告、工作总结"))],
                      deployed_by="owner")
    found = [p for p in refused.value.problems if p.code == "unknown_document"]
    assert len(found) == 1                                   # the known one of the two is fine
    assert found[0].field == "document" and found[0].element_id and found[0].line
    assert '"工作总结"' in found[0].message and "填报月度工作进展" in found[0].message
    assert engine.process_infos() == {}                      # nothing deployed


def test_a_step_declaring_shipped_documents_deploys(engine):
    deployed = engine.deploy([SourceFile("monthly_report.bpmn", _monthly_report("月度工作进展报告"))], deployed_by="owner")
    assert [d.process_key for d in deployed] == ["monthly_report"]
