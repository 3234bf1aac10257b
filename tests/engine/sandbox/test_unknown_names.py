"""Deploy refuses scripts that call Python builtins the sandbox does not provide (they could only
fail at run time), naming the element and the file line; every shipped process still deploys."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from engine.errors import Invalid
from engine.sandbox import check_source
from tests.conftest import ROOT

_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="t">
  <bpmn:process id="names" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="Compute"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>total = amount * 2
names = sorted(locals())
{extra}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_script_calling_locals_is_refused_at_deploy_with_its_line(engine):
    with pytest.raises(Invalid) as caught:
        engine.deploy([SourceFile("names.bpmn", _DIAGRAM.format(extra="").encode())], deployed_by="admin")
    [problem] = caught.value.problems
    assert (problem.code, problem.element_id, problem.field) == ("script_error", "calc", "script")
    assert problem.line == 7                     # the file line of `names = sorted(locals())`
    assert "locals" in problem.message and "line 2" in problem.message


def test_each_unknown_builtin_is_reported_once_per_line():
    problems = check_source("a = locals()\nb = vars(a)\nc = open('x') if globals() else None", "exec")
    assert [(line, msg.split("(")[0]) for line, msg in problems] == [
        (1, "locals"), (2, "vars"), (3, "open"), (3, "globals")]
    assert all("not available" in msg for _, msg in problems)


def test_names_the_script_defines_or_that_are_plain_data_are_not_flagged():
    assert check_source("input = 3\nid = input + 1\nresult = sorted([id, amount])", "exec") == []
    assert check_source("def f(format):\n    return format\nx = f(1)", "exec") == []
    assert check_source("[type for type in kinds]", "eval") == []
    assert check_source("len(items) > 0 and isinstance(x, dict)", "eval") == []


def test_an_expression_is_checked_too():
    [(line, message)] = check_source("vars(clue)['x']", "eval")
    assert line == 1 and message.startswith("vars")


def test_every_shipped_process_still_deploys(db, clock):
    from engine.bootstrap import deploy_directory, domain_connectors
    from engine.clock import IdSource
    from engine.forms import FormCatalog
    from engine.runtime.services import Engine
    engine = Engine(db, FormCatalog(ROOT / "forms"), clock, IdSource(seed=1), connectors=domain_connectors())
    deployed = deploy_directory(engine, ROOT / "processes")
    assert {v.process_key for v in deployed} >= {"clue", "campaign", "monthly_report"}
