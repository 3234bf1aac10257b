"""Forms edited in the browser become new versions; a task already open keeps rendering and validating
against the version it opened with. Also the modeler's JSON actions: validate, draft, deploy."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine.bpmn.validation import SourceFile
from tests.helpers.web import csrf, login

pytestmark = pytest.mark.both_databases

FORM_TASK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="selfcheck" name="\xe8\x87\xaa\xe6\x9f\xa5" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="Lane_A" name="LaneA"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>fill</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="fill" name="fill"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formKey" value="all_kinds" /></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _open_task(engine, instance_id):
    return next(t for t in engine.show(instance_id).tasks if t.status == "open")


def test_a_new_form_version_leaves_a_task_already_open_on_its_old_version(engine, clock):
    engine.deploy([SourceFile("selfcheck.bpmn", FORM_TASK)], deployed_by="owner")
    old_task = _open_task(engine, engine.start("selfcheck", started_by="owner").id)
    seed = engine.forms.get("all_kinds")
    edited = dict(seed, title="廉洁风险自查表（2027 版）")
    clock.advance(timedelta(minutes=5))
    saved = engine.forms.save("all_kinds", json.dumps(edited, ensure_ascii=False), saved_by="owner",
                              now=clock.now(), note="改标题")
    assert saved.version == 2 and engine.forms.current_version("all_kinds") == 2
    clock.advance(timedelta(minutes=5))
    new_task = _open_task(engine, engine.start("selfcheck", started_by="owner").id)

    assert engine.forms.for_task(engine.task(old_task.id))["title"] == "廉洁风险自查表"      # still version 1
    assert engine.forms.for_task(engine.task(new_task.id))["title"] == "廉洁风险自查表（2027 版）"
    assert engine.forms.get("all_kinds", version=1)["title"] == "廉洁风险自查表"
    assert [v.version for v in engine.forms.version_list("all_kinds")] == [1, 2]
    # saving the same content again makes no new version
    assert engine.forms.save("all_kinds", json.dumps(edited, ensure_ascii=False), saved_by="owner",
                             now=clock.now()).version == 2


def test_a_broken_form_definition_is_refused_naming_the_mistake(engine, clock):
    from engine.errors import Invalid
    with pytest.raises(Invalid) as refused:
        engine.forms.save("all_kinds", '{"title": "x", "schema": {"type": "object", "properties": {}}}',
                          saved_by="owner", now=clock.now())
    assert any(p.field == "layout" for p in refused.value.problems)
    assert engine.forms.current_version("all_kinds") == 1


def test_the_task_page_renders_the_form_version_the_task_opened_with(app, engine, clock, people):
    engine.deploy([SourceFile("selfcheck.bpmn", FORM_TASK)], deployed_by="owner")
    task = _open_task(engine, engine.start("selfcheck", started_by="owner").id)
    client = app.test_client()
    login(client, "owner")
    clock.advance(timedelta(minutes=1))
    edited = json.loads(json.dumps(engine.forms.get("all_kinds")))
    edited["title"] = "新版自查表"
    edited["schema"]["properties"]["summary"]["title"] = "新版自查情况"
    resp = client.post("/modeler/forms/all_kinds", data={"csrf_token": csrf(client, "/modeler/forms/all_kinds"),
                                                        "definition": json.dumps(edited, ensure_ascii=False)})
    assert resp.status_code == 302 and engine.forms.current_version("all_kinds") == 2
    bad = client.post("/modeler/forms/all_kinds", data={"csrf_token": csrf(client, "/modeler/forms/all_kinds"),
                                                       "definition": "{not json"})
    assert bad.status_code == 422 and "不是有效的 JSON" in bad.get_data(as_text=True)
    preview = client.post("/modeler/forms/preview", json={"key": "all_kinds", "definition": json.dumps(edited)},
                          headers={"X-CSRFToken": csrf(client, "/modeler/forms/all_kinds")})
    assert preview.get_json()["ok"] and 'name="summary"' in preview.get_json()["html"]
    from engine.db.transactions import write_transaction
    from engine.org import people as org
    with write_transaction(engine.db) as conn:           # a member of staff on the task's lane opens it
        org.save_staff(conn, dict(org.get_staff(conn, "nurse"), roles=["staff", "LaneA"]), clock.now())
    nurse = app.test_client()
    login(nurse, "nurse")
    page = nurse.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "自查情况" in page.get_data(as_text=True) and "新版自查情况" not in page.get_data(as_text=True)


def _json(client, path, body):
    return client.post(path, json=body, headers={"X-CSRFToken": csrf(client, "/modeler")})


def test_the_modeler_validates_saves_a_draft_and_deploys_with_the_cli_messages(app, engine, people):
    client = app.test_client()
    login(client, "owner")
    broken = FORM_TASK.replace(b'value="all_kinds"', b'value="no_such_form"').decode()
    resp = _json(client, "/modeler/validate", {"xml": broken, "file_name": "selfcheck.bpmn"})
    assert resp.status_code == 422
    problem = resp.get_json()["problems"][0]
    assert problem["element_id"] == "fill" and "no_such_form" in problem["message"]
    with pytest.raises(Exception) as cli_error:        # the same message as `qinglian deploy` / the API
        engine.deploy([SourceFile("selfcheck.bpmn", broken.encode())], deployed_by="owner")
    assert problem["detail"] in str(cli_error.value)          # the page says it in Chinese, with the CLI's words
    assert "no_such_form" in problem["message"] and "不存在" in problem["message"]

    assert _json(client, "/modeler/draft", {"xml": broken, "file_name": "selfcheck.bpmn"}).get_json()["key"] == "selfcheck"
    page = client.get("/modeler/new?draft=selfcheck").get_data(as_text=True)
    assert "no_such_form" in page                      # the draft reopens as it was saved
    assert _json(client, "/modeler/deploy", {"xml": broken}).status_code == 422
    assert engine.registry.list_versions("selfcheck") == []

    done = _json(client, "/modeler/deploy", {"xml": FORM_TASK.decode(), "file_name": "selfcheck.bpmn", "note": "首版"})
    assert done.status_code == 201 and done.get_json()["versions"][0]["version"] == 1
    assert engine.registry.list_versions("selfcheck")[0]["note"] == "首版"
    assert 'data-testid="draft-list"' not in client.get("/modeler").get_data(as_text=True)   # the draft is gone
    assert _json(client, "/modeler/deploy", {"xml": "<definitions"}).status_code == 422          # never a 500


def test_confidential_processes_stay_hidden_in_the_modeler(app, engine, people):
    secret = FORM_TASK.replace(b'isExecutable="true">', b'isExecutable="true"><bpmn:extensionElements>'
                               b'<spiffworkflow:properties><spiffworkflow:property name="confidential" '
                               b'value="discipline_office" /></spiffworkflow:properties></bpmn:extensionElements>')
    engine.deploy([SourceFile("selfcheck.bpmn", secret)], deployed_by="owner")
    nurse = app.test_client()
    login(nurse, "nurse")
    assert nurse.get("/modeler/selfcheck").status_code == 404
    assert nurse.get("/modeler/selfcheck/versions/1.bpmn").status_code == 404
    assert "selfcheck" not in nurse.get("/modeler").get_data(as_text=True)
    office = app.test_client()
    login(office, "jijian")
    assert office.get("/modeler/selfcheck").status_code == 200
    assert "selfcheck" in office.get("/modeler").get_data(as_text=True)
