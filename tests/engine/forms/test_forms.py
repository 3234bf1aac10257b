"""Forms: a department head fills in the integrity-risk self-inspection (自查表) and gets every mistake
back in Chinese, next to the field, with what they typed kept; a process owner cannot deploy a
process whose form file is broken."""
from __future__ import annotations

import copy
import io
import json
import re

import pytest
from flask import Flask, render_template_string
from werkzeug.datastructures import FileStorage, MultiDict

from engine.errors import Invalid
from engine.forms import (
    AttachmentMeta,
    FormCatalog,
    MemoryLookups,
    check_definition,
    validate_submission,
    values_from_data,
)
from engine.bpmn.validation import SourceFile, validate_bundle
from tests.conftest import DATA as DATA_DIR, ROOT

TEST_FORMS = DATA_DIR / "forms"
ALL_KINDS = json.loads((TEST_FORMS / "all_kinds.json").read_text(encoding="utf-8"))
MB = 1024 * 1024

LOOKUPS = MemoryLookups(
    people={"zhangsan": "张三", "lisi": "李四"},
    departments={"neike": "内科", "yaojuke": "药剂科"},
    attachments={"att-1": AttachmentMeta("att-1", "自查报告.pdf", "application/pdf", 1000),
                 "att-exe": AttachmentMeta("att-exe", "tool.exe", "application/octet-stream", 10)})

VALID_POST = [
    ("csrf_token", "token"), ("department", "neike"), ("inspection_date", "2026-09-28"),
    ("inspector", "zhangsan"), ("contact_phone", "0838-1234567"), ("summary", "已完成全科自查。"),
    ("staff_count", "36"), ("satisfaction", "98.5"), ("handed_in_money", "12.3"), ("method", "full"),
    ("found_issues", "true"), ("areas", "procurement"), ("areas", "red_envelope"),
    ("risks[0].point", "药品耗材回扣"), ("risks[0].level", "一级"), ("risks[0].measure", "集中带量采购，双人验收"),
    ("risks[0].owner", "lisi"), ("risks[0].due", "2026-10-31"),
    ("risks[1].point", "收受红包"), ("risks[1].level", "三级"), ("risks[1].measure", "红包登记上交"),
]


def post(*changes, drop=()):
    """The valid self-inspection post with some names replaced (name, value) or dropped."""
    form = MultiDict([(k, v) for k, v in VALID_POST if k not in drop])
    for name, value in changes:
        form.setlist(name, value if isinstance(value, list) else [value])
    return form


def upload(name: str, size: int = 100, content_type: str = "application/pdf") -> FileStorage:
    return FileStorage(io.BytesIO(b"x" * size), filename=name, content_type=content_type)


def submit(raw, files=None, definition=ALL_KINDS, **kw):
    return validate_submission(definition, raw, lookups=LOOKUPS, files=files, **kw)


def error_for(name, value, **kw):
    sub = submit(post((name, value)), **kw)
    return sub.errors.get(name)


# -- the definition check ----------------------------------------------------------------------------
def test_the_bundled_forms_and_the_test_forms_are_well_formed():
    for folder in (ROOT / "forms", TEST_FORMS):
        catalog = FormCatalog(folder)
        for key in catalog.keys():
            if key != "broken_form":
                assert catalog.problems(key) == [], key


def mutated(change):
    definition = copy.deepcopy(ALL_KINDS)
    change(definition)
    return definition


def props(d):
    return d["schema"]["properties"]


def entry(d, name):
    return next(e for e in d["layout"] if e["field"] == name)


def add_field(d, name, prop, widget="text"):
    props(d)[name] = prop
    d["layout"].append({"field": name, "widget": widget})


def risk_columns(d):
    return entry(d, "risks")["columns"]


MISTAKES = [
    ("a schema that is not JSON Schema", lambda d: props(d)["summary"].update(type="strng"), "summary"),
    ("a layout naming no property", lambda d: d["layout"].append({"field": "ghost", "widget": "text"}), "ghost"),
    ("a property left out of the layout", lambda d: d["layout"].pop(0), "department"),
    ("an unknown widget", lambda d: entry(d, "summary").update(widget="richtext"), "summary"),
    ("a misspelt layout key", lambda d: entry(d, "summary").update(hepl="x"), "summary"),
    ("a select without options", lambda d: props(d)["method"].pop("oneOf"), "method"),
    ("an option without a label", lambda d: props(d)["method"]["oneOf"][0].pop("title"), "method"),
    ("an option listed twice", lambda d: props(d)["method"]["oneOf"].append({"const": "full", "title": "再"}),
     "method"),
    ("money as a float", lambda d: props(d)["handed_in_money"].update(type="number"), "handed_in_money"),
    ("money bounds with three decimals", lambda d: props(d)["handed_in_money"].update(maximum=1.005),
     "handed_in_money"),
    ("minimum above maximum", lambda d: props(d)["staff_count"].update(minimum=10, maximum=5), "staff_count"),
    ("decimals on an integer", lambda d: entry(d, "staff_count").update(decimals=1), "staff_count"),
    ("a yes/no that is not boolean", lambda d: props(d)["found_issues"].update(type="string"), "found_issues"),
    ("rows without an item schema", lambda d: props(d)["risks"].pop("items"), "risks"),
    ("rows without columns", lambda d: entry(d, "risks").pop("columns"), "risks"),
    ("a row column naming no sub-field", lambda d: risk_columns(d).append({"field": "x", "widget": "text"}),
     "risks[].x"),
    ("a bad option inside rows", lambda d: props(d)["risks"]["items"]["properties"]["level"].pop("oneOf"),
     "risks[].level"),
    ("a file field inside rows", lambda d: risk_columns(d)[0].update(widget="file"), "risks[].point"),
    ("a file accept list of bare words", lambda d: entry(d, "evidence").update(accept=["pdf"]), "evidence"),
    ("a file maxSize that is not bytes", lambda d: entry(d, "evidence").update(maxSize="2MB"), "evidence"),
    ("a required name that does not exist", lambda d: d["schema"]["required"].append("ghost"), "ghost"),
    ("a property without a label", lambda d: props(d)["summary"].pop("title"), "summary"),
    ("a field name that cannot name an input", lambda d: add_field(d, "风险", {"type": "string", "title": "风险"}),
     "风险"),
    ("a pattern that is no regular expression", lambda d: props(d)["contact_phone"].update(pattern="[0-9"),
     "contact_phone"),
    ("a form without a title", lambda d: d.pop("title"), "title"),
    ("roles that are not a list of role codes", lambda d: entry(d, "contact_phone").update(roles="discipline_office"),
     "contact_phone"),
    ("a required field shown only to some roles", lambda d: entry(d, "summary").update(roles=["discipline_office"]),
     "summary"),
    ("roles on a column of repeating rows", lambda d: risk_columns(d)[3].update(roles=["discipline_office"]),
     "risks[].owner"),
]


@pytest.mark.parametrize("what, change, field", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_the_definition_check_names_the_file_and_the_field(what, change, field):
    found = check_definition("self_inspection", mutated(change))
    assert found, what
    assert {p.file for p in found} == {"self_inspection.json"}
    assert field in {p.field for p in found}, [str(p) for p in found]
    assert all(p.code == "bad_form" for p in found)


def test_a_definition_checked_again_gets_the_same_answer_whatever_the_first_caller_did_with_it():
    broken = mutated(lambda d: d.pop("title"))
    first = check_definition("self_inspection", broken)
    first.clear()                                           # a caller's list is its own
    assert [p.field for p in check_definition("self_inspection", copy.deepcopy(broken))] == ["title"]
    fixed = mutated(lambda d: None)
    assert check_definition("self_inspection", fixed) == []
    assert [p.field for p in check_definition("other", json.dumps(broken))] == ["title"]
    assert {p.file for p in check_definition("other", json.dumps(broken))} == {"other.json"}


def test_a_file_that_is_not_json_is_reported_with_its_line():
    [problem] = check_definition("broken", b'{\n  "title": "x",\n  "schema": {,}\n}')
    assert (problem.file, problem.line) == ("broken.json", 3)
    assert "not valid JSON" in problem.message


def test_a_broken_form_is_refused_by_deploy_validation_at_the_task_that_uses_it():
    text = (ROOT / "tests" / "data" / "bpmn" / "w1.bpmn").read_text()
    with_form = text.replace('<bpmn:userTask id="fill" name="Fill">', FORM_PROPERTY)
    catalog = FormCatalog(TEST_FORMS)
    with pytest.raises(Invalid) as caught:
        validate_bundle([SourceFile("w1.bpmn", with_form.encode())], form_exists=catalog.exists,
                        form_problems=catalog.problems, role_for_lane=lambda name: name,
                        process_deployed=lambda key: False)
    [problem] = caught.value.problems
    assert (problem.code, problem.file, problem.element_id, problem.field) == ("bad_form", "w1.bpmn", "fill", "formKey")
    assert "broken_form.json" in problem.message and "amount" in problem.message


FORM_PROPERTY = """<bpmn:userTask id="fill" name="Fill">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="broken_form" />
      </spiffworkflow:properties></bpmn:extensionElements>"""


def test_deploying_a_process_whose_form_is_broken_stores_nothing(engine):
    text = (ROOT / "tests" / "data" / "bpmn" / "w1.bpmn").read_text()
    with pytest.raises(Invalid) as caught:
        engine.deploy([SourceFile("w1.bpmn", text.replace('<bpmn:userTask id="fill" name="Fill">',
                                                          FORM_PROPERTY).encode())], deployed_by="owner")
    assert "bad_form" in {p.code for p in caught.value.problems}
    assert engine.registry.list_versions("w1_process") == []


# -- a valid submission ------------------------------------------------------------------------------
def test_a_complete_self_inspection_gives_typed_data_for_the_workflow():
    sub = submit(post(), files=MultiDict([("evidence", upload("C:\\自查\\照片.JPG", content_type="image/jpeg"))]))
    assert sub.ok and sub.errors == {}
    data = sub.data
    assert data == {
        "department": "neike", "inspection_date": "2026-09-28", "inspector": "zhangsan",
        "contact_phone": "0838-1234567", "summary": "已完成全科自查。", "staff_count": 36, "satisfaction": 98.5,
        "handed_in_money": "12.30", "method": "full", "found_issues": True,
        "areas": ["procurement", "red_envelope"],
        "risks": [{"point": "药品耗材回扣", "level": "一级", "measure": "集中带量采购，双人验收", "owner": "lisi",
                   "due": "2026-10-31"},
                  {"point": "收受红包", "level": "三级", "measure": "红包登记上交", "owner": None, "due": None}],
        "evidence": [],
    }
    assert "csrf_token" not in data
    [photo] = sub.files["evidence"]
    assert (photo.filename, photo.content_type, photo.size) == ("照片.JPG", "image/jpeg", 100)
    assert sub.data_with_uploads({"evidence": ["att-9"]})["evidence"] == ["att-9"]


def test_the_rest_api_sends_typed_json_and_gets_the_same_data():
    body = {"department": "neike", "inspection_date": "2026-09-28", "inspector": "zhangsan", "summary": "完成",
            "staff_count": 36, "satisfaction": 98.5, "handed_in_money": 12.3, "found_issues": False,
            "areas": ["charging"], "evidence": ["att-1"],
            "risks": [{"point": "违规收费", "level": "二级", "measure": "每月抽查"}]}
    data = submit(body).data
    assert (data["handed_in_money"], data["found_issues"], data["staff_count"]) == ("12.30", False, 36)
    assert data["evidence"] == ["att-1"] and data["risks"][0]["level"] == "二级"


# -- each kind, valid and invalid --------------------------------------------------------------------
@pytest.mark.parametrize("name, value, message", [
    ("summary", "", "请填写“自查情况”"),
    ("summary", "x" * 2001, "“自查情况”最多 2000 个字，现有 2001 个字"),
    ("summary", "a\x00b", "“自查情况”含有不可见的控制字符，请删除后再提交"),
    ("contact_phone", "call me", "“联系电话”的格式不正确"),
    ("staff_count", "三十", "“参加自查人数”应为数字，如 12 或 12.5"),
    ("staff_count", "3.5", "“参加自查人数”应为整数"),
    ("staff_count", "6000", "“参加自查人数”不能大于 5000"),
    ("staff_count", "-1", "“参加自查人数”不能小于 0"),
    ("satisfaction", "98.55", "“出院患者满意度（%）”最多 1 位小数"),
    ("handed_in_money", "12.345", "金额最多两位小数"),
    ("handed_in_money", "-5", "“主动上交钱款”不能小于 0"),
    ("handed_in_money", "1000.01", "“主动上交钱款”不能大于 1000"),
    ("handed_in_money", "12.3万", "“主动上交钱款”应为数字，如 12 或 12.5"),
    ("inspection_date", "2026/09/28", "日期格式应为 2026-09-28"),
    ("inspection_date", "2026年9月28日", "日期格式应为 2026-09-28"),
    ("inspection_date", "2026-02-30", "2026-02-30 不是有效的日期"),
    ("inspection_date", "", "请填写“自查日期”"),
    ("method", "audit", "“排查方式”须为 全面自查/重点抽查 之一"),
    ("found_issues", "maybe", "“是否发现问题”请选择“是”或“否”"),
    ("found_issues", [], "请选择“是否发现问题”"),
    ("areas", [], "请选择“排查领域”"),
    ("areas", ["procurement", "bribery"], "“排查领域”须为 医药购销/收受红包/过度诊疗/违规收费 之一"),
    ("inspector", "wangwu", "“自查负责人”：找不到人员“wangwu”"),
    ("inspector", "", "请选择“自查负责人”"),
    ("department", "waike", "“科室”：找不到科室“waike”"),
])
def test_a_wrong_value_gets_a_specific_chinese_message(name, value, message):
    sub = submit(post((name, value)))
    assert sub.errors == {name: message}


@pytest.mark.parametrize("typed, stored", [
    ("12.3", "12.30"), ("12", "12.00"), ("0.5", "0.50"), ("１２.５", "12.50"), ("1,000", "1000.00"),
    ("0.10", "0.10"), ("999.99", "999.99"), ("-0", "0.00"), ("", None),
])
def test_money_is_stored_as_a_string_with_exactly_two_decimals(typed, stored):
    assert submit(post(("handed_in_money", typed))).data["handed_in_money"] == stored


def test_money_from_json_floats_is_exact_or_refused():
    assert submit({**json_body(), "handed_in_money": 0.1 + 0.2}).errors == {"handed_in_money": "金额最多两位小数"}
    assert submit({**json_body(), "handed_in_money": "0.30"}).data["handed_in_money"] == "0.30"


def test_numbers_dates_and_choices_are_typed():
    data = submit(post(("staff_count", " ３６ "), ("satisfaction", "100"), ("found_issues", "false"),
                       ("areas", ["charging", "charging", "overtreatment"]))).data
    assert data["staff_count"] == 36 and data["satisfaction"] == 100.0
    assert data["found_issues"] is False
    assert data["areas"] == ["charging", "overtreatment"]


# -- repeating rows ----------------------------------------------------------------------------------
def test_each_row_reports_its_own_errors_with_its_row_number():
    sub = submit(post(("risks[1].measure", ""), ("risks[2].point", "过度检查"), ("risks[2].level", "四级"),
                      ("risks[2].measure", ""), ("risks[2].due", "2026-13-01")))
    assert sub.errors == {
        "risks[1].measure": "第 2 行：请填写“防控措施”",
        "risks[2].level": "第 3 行：“等级”须为 一级/二级/三级 之一",
        "risks[2].measure": "第 3 行：请填写“防控措施”",
        "risks[2].due": "第 3 行：2026-13-01 不是有效的日期",
    }


def test_blank_rows_are_dropped_and_gaps_in_numbering_closed():
    sub = submit(post(("risks[1].point", ""), ("risks[1].level", ""), ("risks[1].measure", ""),
                      ("risks[7].point", "虚开票据"), ("risks[7].level", "二级"), ("risks[7].measure", "财务复核")))
    assert [r["point"] for r in sub.data["risks"]] == ["药品耗材回扣", "虚开票据"]
    assert [r["point"] for r in sub.values["risks"]] == ["药品耗材回扣", "虚开票据"]


def test_a_required_risk_list_needs_one_row():
    sub = submit(post(drop=[k for k, _ in VALID_POST if k.startswith("risks[")]))
    assert sub.errors == {"risks": "请填写“风险清单”"}


def test_too_many_rows_are_refused():
    rows = [(f"risks[{i}].{k}", v) for i in range(51) for k, v in
            (("point", f"风险{i}"), ("level", "三级"), ("measure", "措施"))]
    sub = submit(post(*rows))
    assert sub.errors == {"risks": "“风险清单”最多填写 50 行"}


def test_json_rows_with_unknown_sub_fields_are_refused():
    body = json_body()
    body["risks"] = [{"point": "p", "level": "一级", "measure": "m", "score": 3}]
    assert submit(body).errors == {"risks[0].score": "第 1 行：表单中没有这一项"}


# -- unknown fields and the all-or-nothing rule --------------------------------------------------------
def json_body():
    return {"department": "neike", "inspection_date": "2026-09-28", "inspector": "zhangsan", "summary": "完成",
            "found_issues": True, "areas": ["charging"], "risks": [{"point": "p", "level": "一级", "measure": "m"}]}


def test_unknown_fields_are_refused_in_json_and_never_stored_from_html():
    assert submit({**json_body(), "approved": True}).errors == {"approved": "表单中没有这一项"}
    data = submit(post(("approved", "true"), ("risks[0].score", "9"))).data
    assert "approved" not in data and "score" not in data["risks"][0]


def test_an_invalid_submission_has_no_data_to_store():
    sub = submit(post(("handed_in_money", "12.345")))
    assert not sub.ok
    with pytest.raises(Invalid) as caught:
        sub.data
    with pytest.raises(Invalid):
        sub.files
    with pytest.raises(Invalid):
        sub.data_with_uploads({})
    [problem] = caught.value.problems
    assert (problem.field, problem.message) == ("handed_in_money", "金额最多两位小数")


def test_what_the_user_typed_is_kept_for_the_page_shown_again():
    sub = submit(post(("handed_in_money", "12.345"), ("staff_count", "三十六"), ("risks[1].level", "四级")))
    assert sub.values["handed_in_money"] == "12.345"
    assert sub.values["staff_count"] == "三十六"
    assert sub.values["areas"] == ["procurement", "red_envelope"]
    assert sub.values["risks"][1] == {"point": "收受红包", "level": "四级", "measure": "红包登记上交",
                                      "owner": "", "due": ""}
    assert "csrf_token" not in sub.values


def test_stored_data_can_prefill_the_form_again():
    values = values_from_data(submit(post()).data)
    assert (values["found_issues"], values["staff_count"], values["contact_phone"]) == ("true", "36", "0838-1234567")
    assert submit(MultiDict(flatten(values))).data == submit(post()).data


def flatten(values):
    pairs = []
    for name, value in values.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            pairs += [(f"{name}[{i}].{k}", v) for i, row in enumerate(value) for k, v in row.items()]
        elif isinstance(value, list):
            pairs += [(name, v) for v in value]
        else:
            pairs.append((name, value))
    return pairs


# -- files ---------------------------------------------------------------------------------------------
def files(*items):
    return MultiDict([("evidence", item) for item in items])


@pytest.mark.parametrize("item, message", [
    (upload("big.pdf", 2 * MB + 1), "文件“big.pdf”超过 2 MB"),
    (upload("tool.exe", 10, "application/octet-stream"), "文件“tool.exe”的类型不允许，只接受 .pdf、.jpg、.jpeg、.png"),
    (upload("empty.pdf", 0), "文件“empty.pdf”是空文件"),
])
def test_an_upload_too_large_or_of_the_wrong_type_is_refused(item, message):
    assert submit(post(), files=files(item)).errors == {"evidence": message}


def test_the_default_limit_is_10_mb_and_mime_types_can_be_required():
    def pdf_only_default_size(d):
        entry(d, "evidence").update(accept=[".pdf", "application/pdf"])
        del entry(d, "evidence")["maxSize"]
    definition = mutated(pdf_only_default_size)
    ok = submit(post(), files=files(upload("a.pdf", 10 * MB)), definition=definition)
    assert ok.ok
    too_big = submit(post(), files=files(upload("a.pdf", 10 * MB + 1)), definition=definition)
    assert too_big.errors == {"evidence": "文件“a.pdf”超过 10 MB"}
    disguised = submit(post(), files=files(upload("a.pdf", 10, "text/html")), definition=definition)
    assert "类型不允许" in disguised.errors["evidence"]


def test_all_files_of_one_submission_share_a_cap():
    sub = submit(post(), files=files(upload("a.pdf", MB), upload("b.pdf", MB)), max_total=int(1.5 * MB))
    assert sub.errors == {"evidence": "一次提交的文件合计不能超过 1.5 MB"}


def test_kept_attachments_must_exist_and_count_towards_the_limit():
    assert submit(post(("evidence", ["att-1"]))).data["evidence"] == ["att-1"]
    assert submit(post(("evidence", ["att-404"]))).errors == {"evidence": "找不到附件“att-404”"}
    assert "类型不允许" in submit(post(("evidence", ["att-exe"]))).errors["evidence"]
    four = submit(post(("evidence", ["att-1"])), files=files(upload("a.pdf"), upload("b.pdf"), upload("c.pdf")))
    assert four.errors == {"evidence": "“佐证材料”最多上传 3 个文件"}


def test_an_empty_file_input_is_not_an_upload():
    nothing_chosen = FileStorage(io.BytesIO(b""), filename="", content_type="application/octet-stream")
    sub = submit(post(), files=files(nothing_chosen))
    assert sub.ok and sub.files == {}


# -- the bundled monthly report ------------------------------------------------------------------------
def test_the_monthly_report_needs_the_work_done():
    definition = FormCatalog(ROOT / "forms").get("monthly_report")
    sub = validate_submission(definition, MultiDict([("month", "2026-09-01")]), lookups=LOOKUPS)
    assert sub.errors == {"progress": "请填写“本月工作完成情况”"}


def test_sending_a_report_back_needs_a_comment():
    definition = FormCatalog(ROOT / "forms").get("monthly_report_review")
    back = validate_submission(definition, MultiDict([("accepted", "false")]), lookups=LOOKUPS)
    assert back.errors == {"review_comment": "请填写“审核意见”"}
    accepted = validate_submission(definition, MultiDict([("accepted", "true")]), lookups=LOOKUPS)
    assert accepted.data == {"accepted": True, "review_comment": None}
    wrong = validate_submission(definition, MultiDict([("accepted", "yes")]), lookups=LOOKUPS)
    assert wrong.errors == {"accepted": "“审核结论”须为 通过/退回修改 之一"}


# -- rendering -------------------------------------------------------------------------------------------
@pytest.fixture
def render():
    app = Flask(__name__, template_folder=str(ROOT / "web" / "templates"))

    def _render(source, **context):
        with app.app_context():
            return render_template_string('{% import "forms/_fields.html" as forms %}' + source, **context)
    return _render


PICKERS = dict(people=[("zhangsan", "张三"), ("lisi", "李四")], departments=[("neike", "内科"), ("yaojuke", "药剂科")])


def field_html(html, name):
    """The markup of the field wrapper holding input `name`."""
    i = html.index(f'name="{name}"')
    start = max(html.rfind('<div class="field', 0, i), html.rfind('<fieldset class="field', 0, i))
    return html[start:i + 400]


def test_a_failed_submission_is_shown_again_with_each_error_at_its_field(render):
    sub = submit(post(("handed_in_money", "12.345"), ("risks[1].measure", ""), ("inspector", "wangwu")))
    html = render("{{ forms.error_summary(d, sub.errors) }}{{ forms.form_fields(d, sub.values, sub.errors, "
                  "people=people, departments=departments) }}", d=ALL_KINDS, sub=sub, **PICKERS)
    money = field_html(html, "handed_in_money")
    assert "field-error" in money and 'aria-invalid="true"' in money and 'value="12.345"' in money
    assert 'aria-describedby="f-handed_in_money-help f-handed_in_money-unit f-handed_in_money-error"' in money
    assert '<p class="field-error-message" id="f-handed_in_money-error">金额最多两位小数</p>' in html
    assert '<span class="unit" id="f-handed_in_money-unit">万元</span>' in html
    measure = field_html(html, "risks[1].measure")
    assert "field-error" in measure and "第 2 行：请填写“防控措施”" in measure
    assert '<option value="wangwu" selected>wangwu</option>' in html        # kept though unknown
    assert '<a href="#f-risks-1-measure">' in html and 'role="alert"' in html
    assert "field-error" not in field_html(html, "summary")
    assert 'aria-invalid' not in field_html(html, "summary")
    assert '<option value="neike" selected>内科</option>' in html
    assert 'value="procurement" checked' in html and 'value="charging" checked' not in html
    assert 'name="risks[__i__].point"' in html                               # the template row for the script
    assert 'type="date"' in field_html(html, "inspection_date")
    assert not re.search(r"<script|\son[a-z]+=", html)                        # CSP: no inline script


def test_every_kind_renders_in_english_too(render):
    html = render("{{ forms.form_instructions(d, 'en') }}{{ forms.form_fields(d, locale='en') }}", d=ALL_KINDS)
    for label in ("Department", "Money handed in", "Risk list", "Level 1 (high)", "Add a row", "Yes", "Evidence"):
        assert label in html
    assert "× 10,000 yuan" in html and "The department head screens" in html
    assert 'accept=".pdf,.jpg,.jpeg,.png"' in html


def test_submitted_data_is_shown_read_only_in_chinese(render):
    data = submit(post(), files=None).data
    data["evidence"] = ["att-1"]
    html = render("{{ forms.form_view(d, data, people=people, departments=departments, attachments=att, "
                  "attachment_url='/attachments/{id}') }}", d=ALL_KINDS, data=data, att={"att-1": "自查报告.pdf"},
                  **PICKERS)
    for shown in ("2026年9月28日", "2026年10月31日", "12.30 万元", "<dd>是</dd>", "<dd>内科</dd>", "<dd>张三</dd>",
                  "<td>李四</td>", "医药购销、收受红包", "<td>一级</td>", "全面自查",
                  '<a href="/attachments/att-1">自查报告.pdf</a>'):
        assert shown in html, shown
    assert "<input" not in html


def test_the_review_decision_is_a_select_shown_by_its_label(render):
    definition = FormCatalog(ROOT / "forms").get("monthly_report_review")
    html = render("{{ forms.form_fields(d, {'accepted': 'false'}) }}{{ forms.form_view(d, {'accepted': False}) }}",
                  d=definition)
    assert '<option value="false" selected>退回修改</option>' in html and "<dd>退回修改</dd>" in html


# -- fields for some roles only ---------------------------------------------------------------------------
OFFICE_ONLY = mutated(lambda d: entry(d, "contact_phone").update(roles=["discipline_office"]))


def test_a_field_for_some_roles_is_left_out_of_everyone_elses_form():
    from engine.forms import shown_to
    assert check_definition("self_inspection", OFFICE_ONLY) == []
    names = lambda d: [e["field"] for e in d["layout"]]           # noqa: E731
    assert "contact_phone" not in names(shown_to(OFFICE_ONLY, {"staff", "department_head"}))
    assert "contact_phone" in names(shown_to(OFFICE_ONLY, {"staff", "discipline_office"}))
    assert shown_to(ALL_KINDS, {"staff"}) is ALL_KINDS


def test_a_value_for_a_field_of_other_roles_is_refused_at_that_field_and_the_rest_kept():
    sub = submit(post(), definition=OFFICE_ONLY, roles={"staff"})
    assert sub.errors == {"contact_phone": "此项仅限指定角色填写，你无权填写"}
    assert sub.values["summary"] == "已完成全科自查。"
    assert submit(post(drop=("contact_phone",)), definition=OFFICE_ONLY, roles={"staff"}).ok
    assert submit(post(), definition=OFFICE_ONLY, roles={"discipline_office"}).data["contact_phone"] == "0838-1234567"
    api = submit({**submit(post()).data, "contact_phone": "0838-1234567"}, definition=OFFICE_ONLY, roles={"staff"})
    assert api.errors == {"contact_phone": "此项仅限指定角色填写，你无权填写"}
