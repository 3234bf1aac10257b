"""A call activity that always calls its own process again, directly or through others, is refused at
deploy; one behind a condition is a recursion that can end, and is deployed."""
from __future__ import annotations

import pytest

from engine.bpmn.validation import SourceFile
from engine.errors import Invalid
from tests.conftest import bpmn


def test_a_guarded_recursive_call_activity_is_deployed_and_ends(engine, deploy):
    deploy("recurses_when_asked.bpmn")
    view = engine.start("recurses_when_asked", started_by="alice", data={"depth": 3, "forever": False})
    assert view.status == "completed"


def test_deploy_refuses_a_call_activity_that_always_calls_its_own_process(engine):
    with pytest.raises(Invalid) as refused:
        engine.deploy([SourceFile("calls_itself.bpmn", bpmn("calls_itself.bpmn"))], deployed_by="admin")
    [problem] = refused.value.problems
    assert (problem.code, problem.element_id, problem.file) == ("recursive_call", "again", "calls_itself.bpmn")
    assert problem.line == 5 and "calls_itself" in problem.message


def test_deploy_refuses_two_processes_that_always_call_each_other(engine):
    def caller(key, calls):
        return SourceFile(f"{key}.bpmn", bpmn("calls_itself.bpmn").decode().replace(
            'calledElement="calls_itself"', f'calledElement="{calls}"').replace(
            'id="calls_itself" name="calls_itself"', f'id="{key}" name="{key}"').encode())
    with pytest.raises(Invalid) as refused:
        engine.deploy([caller("ping", "pong"), caller("pong", "ping")], deployed_by="admin")
    found = {(p.code, p.file) for p in refused.value.problems}
    assert found == {("recursive_call", "ping.bpmn"), ("recursive_call", "pong.bpmn")}
    assert any("ping → pong → ping" in p.message for p in refused.value.problems)


def test_a_call_behind_a_parallel_split_is_not_guarded(engine):
    xml = bpmn("calls_itself.bpmn").decode().replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="again"/>',
        '<bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming></bpmn:parallelGateway>'
        '<bpmn:parallelGateway id="join"/><bpmn:task id="other"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>'
        '<bpmn:sequenceFlow id="s1" sourceRef="split" targetRef="again"/>'
        '<bpmn:sequenceFlow id="s2" sourceRef="split" targetRef="other"/>'
        '<bpmn:sequenceFlow id="s3" sourceRef="other" targetRef="join"/>').replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="again" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f2" sourceRef="again" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="end"/>').replace(
        '<bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>', '<bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>')
    with pytest.raises(Invalid) as refused:
        engine.deploy([SourceFile("calls_itself.bpmn", xml.encode())], deployed_by="admin")
    assert [p.code for p in refused.value.problems] == ["recursive_call"]
