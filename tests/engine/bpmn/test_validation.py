"""Deploy-time validation: a process owner learns every problem of a BPMN upload at once, with the
file, the element and the line, before anything is stored."""
from __future__ import annotations


import pytest

from engine.bpmn import xml as bpmn_xml
from engine.errors import Invalid
from engine.bpmn.validation import LaneRule, SourceFile, validate_bundle
from tests.conftest import DATA

FIXTURES = DATA / "validation"
MIWG = DATA / "miwg"

ROLES = {"staff": "staff", "department_head": "department_head", "discipline_office": "discipline_office",
         "纪检监察室": "discipline_office", "discipline office": "discipline_office"}


def source(name: str) -> SourceFile:
    return SourceFile(name, (FIXTURES / name).read_bytes())


def validate(*files, forms=None, roles=ROLES, deployed=(), **kw):
    files = [source(f) if isinstance(f, str) else f for f in files]
    return validate_bundle(
        files,
        form_exists=(lambda key: True) if forms is None else (lambda key: key in forms),
        role_for_lane=lambda name: roles.get(name.strip().casefold()),
        process_deployed=lambda key: key in deployed, **kw)


def problems(*files, **kw):
    with pytest.raises(Invalid) as caught:
        validate(*files, **kw)
    assert caught.value.problems, "an Invalid must list its problems"
    return caught.value.problems


def codes(found) -> list[str]:
    return [p.code for p in found]


# -- file-level refusals --------------------------------------------------------------------------
def test_a_file_over_five_megabytes_is_refused_before_parsing(monkeypatch):
    content = (FIXTURES / "duplicate_a.bpmn").read_bytes() + b"<!--" + b"x" * bpmn_xml.MAX_FILE_BYTES + b"-->"
    monkeypatch.setattr(bpmn_xml.etree, "fromstring", _must_not_parse)
    [problem] = problems(SourceFile("huge.bpmn", content))
    assert problem.code == "too_large" and problem.file == "huge.bpmn"
    assert "5 MB" in problem.message


def _must_not_parse(*args, **kwargs):
    raise AssertionError("the XML parser was reached")


def test_an_xxe_payload_reading_etc_passwd_is_refused_unread(monkeypatch):
    monkeypatch.setattr(bpmn_xml.etree, "fromstring", _must_not_parse)
    [problem] = problems("xxe.bpmn")
    assert problem.code == "xml_entities" and problem.file == "xxe.bpmn"
    assert "DOCTYPE" in problem.message and "root:" not in str(problem)


def test_an_external_entity_never_leaks_the_file_it_names(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-REPORTER-NAME")
    payload = (FIXTURES / "xxe.bpmn").read_bytes().replace(b"file:///etc/passwd", secret.as_uri().encode())
    with pytest.raises(Invalid) as caught:
        validate(SourceFile("xxe.bpmn", payload))
    assert codes(caught.value.problems) == ["xml_entities"]
    assert "TOP-SECRET" not in str(caught.value) and "TOP-SECRET" not in str(caught.value.to_dict())


def test_an_entity_declaration_in_utf16_is_refused_too():
    content = (FIXTURES / "xxe.bpmn").read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert codes(problems(SourceFile("xxe16.bpmn", content.encode("utf-16")))) == ["xml_entities"]


def test_billion_laughs_is_refused_without_expanding_anything():
    [problem] = problems("billion_laughs.bpmn")
    assert problem.code == "xml_entities"
    assert len(str(problem)) < 400


def test_malformed_xml_is_reported_with_its_line_and_column():
    [problem] = problems("malformed.bpmn")
    assert problem.code == "malformed_xml"
    assert problem.line == 8 and "column" in problem.message
    assert "Opening and ending tag mismatch" in problem.message


def test_a_file_not_saved_as_utf8_is_refused():
    text = (FIXTURES / "duplicate_a.bpmn").read_text().replace('encoding="UTF-8"', 'encoding="GBK"')
    content = text.replace('name="Clue handling"', 'name="问题线索处置"').encode("gbk")
    [problem] = problems(SourceFile("gbk.bpmn", content))
    assert problem.code == "encoding" and "UTF-8" in problem.message


def test_a_file_that_is_not_bpmn_is_refused():
    [problem] = problems("not_bpmn.xml")
    assert problem.code == "not_bpmn"
    assert "DMN" in problem.message and problem.line == 2


# -- parsing ------------------------------------------------------------------------------------------
def test_each_executable_process_is_parsed_on_its_own_so_both_errors_show():
    found = problems("parse_error.bpmn")
    assert codes(found) == ["parse_error", "parse_error"]
    no_start, unsupported = found
    assert (no_start.element_id, no_start.line) == ("no_start", 6)
    assert 'Process "Without a start" (no_start): No start event found.' == no_start.message
    assert (unsupported.element_id, unsupported.line) == ("u_complex", 11)
    assert 'Complex gateway "Complex"' in unsupported.message


def test_a_schema_violation_is_reported_with_its_line():
    [problem] = problems("schema_error.bpmn")
    assert problem.code == "parse_error" and problem.line == 9 and problem.element_id == "review"
    assert "bpmn:reviewNotes" in problem.message and "schema" in problem.message


def test_a_process_id_used_in_two_files_is_refused():
    [problem] = problems("duplicate_a.bpmn", "duplicate_b.bpmn")
    assert problem.code == "duplicate_process"
    assert (problem.file, problem.element_id, problem.line) == ("duplicate_b.bpmn", "clue_handling", 6)
    assert "duplicate_a.bpmn" in problem.message


def test_two_files_with_the_same_name_are_refused():
    assert "duplicate_file" in codes(problems("duplicate_a.bpmn", "duplicate_a.bpmn"))


def test_a_bundle_without_an_executable_process_is_refused():
    [problem] = problems("not_executable.bpmn")
    assert problem.code == "no_executable_process" and problem.file == "not_executable.bpmn"
    assert 'isExecutable="false"' in problem.message


# -- call activities ----------------------------------------------------------------------------------
def test_a_call_to_an_unknown_process_or_to_nothing_is_refused():
    found = problems("unresolved_call.bpmn")
    assert codes(found) == ["unresolved_call", "unresolved_call"]   # and no duplicate from SpiffWorkflow
    assert [p.element_id for p in found] == ["call_upper", "call_nothing"]
    assert "upper_commission" in found[0].message and "nor deployed" in found[0].message
    assert "does not say which process" in found[1].message


def test_a_call_to_a_deployed_process_is_only_missing_its_called_element():
    [problem] = problems("unresolved_call.bpmn", deployed={"upper_commission"})
    assert problem.element_id == "call_nothing"


def test_a_call_between_two_processes_of_one_file_is_resolved_in_the_bundle():
    bundle = validate("call_same_file.bpmn")
    assert set(bundle.processes) == {"clue_intake", "clue_verify"}
    intake = bundle.processes["clue_intake"]
    assert (intake.name, intake.file) == ("Clue intake", "call_same_file.bpmn")
    assert set(intake.subprocess_specs) == {"clue_verify"}
    assert intake.subprocess_specs["clue_verify"] is bundle.processes["clue_verify"].spec
    assert intake.called_elements == set()
    assert bundle.processes["clue_verify"].subprocess_specs == {}


@pytest.mark.parametrize("order", [("call_main.bpmn", "call_sub.bpmn"), ("call_sub.bpmn", "call_main.bpmn")])
def test_a_call_across_two_files_is_resolved_and_deployed_calls_are_left_to_the_caller(order):
    bundle = validate(*order, deployed={"monthly_report"})
    campaign = bundle.processes["campaign"]
    assert set(campaign.subprocess_specs) == {"self_inspection", "screen_risks"}
    assert campaign.called_elements == {"monthly_report"}
    assert set(bundle.processes["self_inspection"].subprocess_specs) == {"screen_risks"}
    assert campaign.spec.task_specs["call_phase"].spec == "self_inspection"


# -- scripts and expressions ---------------------------------------------------------------------------
def test_script_errors_name_the_task_and_the_line_in_the_script_and_in_the_file():
    score, review = problems("script_error.bpmn")
    assert (score.code, score.element_id, score.field, score.line) == ("script_error", "score", "script", 10)
    assert score.message.startswith('Script task "Compute the score" (score): the script has an error on line 2:')
    assert "never closed" in score.message
    assert (review.code, review.element_id, review.field) == ("script_error", "review", "preScript")
    assert review.line == 15
    assert "__class__" in review.message


def test_a_broken_condition_and_a_missing_one_are_each_reported_once():
    bad, missing = problems("condition_error.bpmn")
    assert (bad.code, bad.element_id, bad.line) == ("condition_error", "to_talk", 15)
    assert "method = 'talk'" in bad.message
    assert (missing.code, missing.element_id) == ("condition_error", "to_verify")
    assert 'leaves Exclusive gateway "Disposal method?" (method) without a condition' in missing.message


def test_a_called_process_with_a_missing_condition_is_not_reported_twice():
    found = problems("call_into_broken.bpmn")
    assert [(p.code, p.element_id) for p in found] == [("condition_error", "r_flow_yes"),
                                                       ("condition_error", "r_flow_no")]


def test_timers_must_be_quoted_valid_iso_or_helper_calls():
    found = {p.element_id: p for p in problems("timers.bpmn")}
    assert set(found) == {"t_unquoted", "t_date", "t_bad_iso", "t_unknown_call", "t_syntax"}
    assert {p.code for p in found.values()} == {"timer_error"}
    assert 'must be quoted, as "PT1H"' in found["t_unquoted"].message
    assert found["t_unquoted"].line == 10 and found["t_unquoted"].field == "timeDuration"
    assert 'as "2026-10-01T09:00:00+08:00"' in found["t_date"].message
    assert '"PT1X" is not a valid ISO 8601 duration' in found["t_bad_iso"].message
    assert "weekdays()" in found["t_unknown_call"].message and "working_days()" in found["t_unknown_call"].message
    assert "unterminated string" in found["t_syntax"].message


def test_multi_instance_expressions_are_compiled():
    cardinality, completion = problems("multi_instance.bpmn")
    assert (cardinality.code, cardinality.field, cardinality.line) == ("expression_error", "loopCardinality", 10)
    assert (completion.code, completion.field, completion.line) == ("expression_error", "completionCondition", 11)
    assert cardinality.element_id == completion.element_id == "talk"


def test_the_sandbox_check_is_used_when_given():
    calls = []

    def check(source, mode):
        calls.append(mode)
        return [(1, "refused by the sandbox")] if "verified" in source else []
    [problem] = problems("call_same_file.bpmn", check_expression=check)
    assert problem.code == "script_error" and "refused by the sandbox" in problem.message
    assert calls == ["exec"]


# -- lanes, forms and task properties ---------------------------------------------------------------
def test_lanes_map_to_roles_by_property_or_by_name():
    disposal = validate("lanes.bpmn").processes["disposal"]
    assert disposal.lanes == {
        "Discipline office": LaneRule("discipline_office", None),
        "Head of the department": LaneRule("department_head", "clue['department_id']"),
        "staff": LaneRule("staff", None),
    }


def test_a_lane_without_a_known_role_is_refused():
    found = problems("lane_errors.bpmn")
    assert codes(found) == ["unknown_lane_role", "expression_error", "unknown_lane_role"]
    office, department, cleaners = found
    assert office.element_id == "lane_office" and '"inspectors"' in office.message and office.field == "role"
    assert department.element_id == "lane_head" and department.field == "department"
    assert cleaners.element_id == "lane_cleaners" and 'Lane "Cleaners"' in cleaners.message


def test_w1_validates_when_its_lanes_are_roles():
    bundle = validate("w1.bpmn", roles={"lanea": "staff", "laneb": "department_head"})
    assert bundle.processes["w1_process"].lanes == {"LaneA": LaneRule("staff", None),
                                                   "LaneB": LaneRule("department_head", None)}


def test_w1_reports_both_lanes_when_they_are_not_roles():
    found = problems("w1.bpmn")
    assert codes(found) == ["unknown_lane_role", "unknown_lane_role"]
    assert [p.element_id for p in found] == ["Lane_A", "Lane_B"]


def test_forms_must_exist_and_task_properties_must_be_valid():
    found = problems("forms.bpmn", forms={"risk_list"})
    assert [(p.code, p.element_id, p.field) for p in found] == [
        ("unknown_form", "file_paper", "formKey"),
        ("bad_property", "file_paper", "dueIn"),
        ("bad_property", "file_paper", "priority"),
    ]
    assert '"paper_receipt"' in found[0].message and 'as "P2D"' in found[1].message


def test_form_keys_are_collected():
    text = (FIXTURES / "forms.bpmn").read_text()
    text = text.replace('value="P2D"', 'value="&quot;P2D&quot;"').replace('value="9"', 'value="1"')
    bundle = validate(SourceFile("forms.bpmn", text.encode()))
    assert bundle.processes["risk_screening"].form_keys == {"risk_list", "paper_receipt"}


# -- all at once ------------------------------------------------------------------------------------------
def test_three_different_problems_are_reported_together():
    with pytest.raises(Invalid) as caught:
        validate("three_problems.bpmn", forms=set())
    assert caught.value.message.endswith("3 problems")
    assert sorted(codes(caught.value.problems)) == ["script_error", "unknown_form", "unknown_lane_role"]
    assert all(p.file == "three_problems.bpmn" and p.line for p in caught.value.problems)
    assert str(caught.value).count("\n  - ") == 3


MIWG_EXPECTED = {
    "A.1.0": {"no_executable_process"}, "A.2.0": {"no_executable_process"},
    "A.2.1": {"no_executable_process"}, "A.3.0": {"no_executable_process"},
    "A.4.0": {"no_executable_process"}, "A.4.1": {"no_executable_process"},
    "B.1.0": {"no_executable_process", "parse_error"}, "B.2.0": {"no_executable_process", "parse_error"},
    "C.1.0": {"condition_error", "parse_error"}, "C.1.1": {"condition_error", "parse_error"},
    "C.2.0": {"no_executable_process"}, "C.3.0": {"condition_error", "parse_error", "timer_error"},
    "C.4.0": {"condition_error", "parse_error"}, "C.5.0": {"condition_error", "parse_error"},
    "C.6.0": {"parse_error", "timer_error"}, "C.7.0": {"condition_error", "parse_error", "unknown_decision"},
    "C.8.0": {"no_executable_process"}, "C.8.1": {"condition_error", "parse_error", "unknown_decision"},
    "C.9.0": {"condition_error", "parse_error", "unresolved_call", "unknown_decision"},
    "C.9.1": {"timer_error"}, "C.9.2": {"condition_error", "parse_error", "timer_error", "unresolved_call"},
}


@pytest.mark.parametrize("path", sorted(MIWG.glob("*.bpmn")), ids=lambda p: p.stem)
def test_files_written_by_other_modelers_give_a_bundle_or_clear_problems(path):
    try:   # every lane is taken for a role here: the lanes of these files are not the point
        validate_bundle([SourceFile(path.name, path.read_bytes())], form_exists=lambda key: True,
                        role_for_lane=lambda name: "staff", process_deployed=lambda key: False)
    except Invalid as exc:
        assert exc.problems and all(p.message and p.file == path.name for p in exc.problems)
        assert {p.code for p in exc.problems} == MIWG_EXPECTED[path.stem]
    else:
        assert MIWG_EXPECTED[path.stem] == set()


def test_every_miwg_file_is_covered():
    assert {p.stem for p in MIWG.glob("*.bpmn")} == set(MIWG_EXPECTED)
    assert (MIWG / "LICENSE.txt").exists() and (MIWG / "README.md").exists()


# -- a process's English name ---------------------------------------------------------------------
def _named(value: str) -> SourceFile:
    xml = (DATA.parent.parent / "processes" / "clue_review.bpmn").read_text(encoding="utf-8")
    assert 'name="nameEn" value="Review of a closed clue"' in xml
    return SourceFile("clue_review.bpmn", xml.replace('value="Review of a closed clue"', f'value="{value}"').encode())


class _AnyRole(dict):
    def get(self, name, default=None):
        return name


def test_a_process_keeps_its_english_name_and_an_empty_one_is_refused():
    bundle = validate(_named("Review of a closed clue"), roles=_AnyRole())
    assert bundle.processes["clue_review"].properties["nameEn"] == "Review of a closed clue"
    [problem] = [p for p in problems(_named("  "), roles=_AnyRole()) if p.field == "nameEn"]
    assert problem.code == "bad_property" and problem.element_id == "clue_review"
