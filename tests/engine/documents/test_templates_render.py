"""Every shipped template renders from the demo scenario's data, as .docx and as PDF (LibreOffice),
with the layout's fixed parts — the issuing organ, the 文号, the 成文日期 in Chinese numerals, the page
number — and the instance's own facts in the text."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from engine.db.transactions import read_transaction
from engine.documents import fields, kinds, pdf, rendering, templates

pytestmark = pytest.mark.real_forms

# kind -> (which demo instance, what its text must say)
EXPECTED = {
    "受理告知书": ("clue", ["问题线索受理告知书", "李建国", "采购中心", "已依规受理"]),
    "谈话通知书": ("clue", ["谈话通知书", "李建国同志", "耗材招标"]),
    "谈话笔录": ("clue", ["谈话笔录", "李建国", "采购中心主任", "与我所说一致"]),
    "函询通知书": ("clue", ["函询通知书", "李建国同志", "15个工作日"]),
    "函询回复": ("clue", ["函询回复材料", "李建国", "党支部书记意见"]),
    "问题线索处置呈批表": ("clue", ["问题线索处置呈批表", "李建国", "信访举报", "领导小组审批意见"]),
    "初步核实方案": ("clue", ["初步核实方案", "李建国", "回避制度"]),
    "初步核实情况报告": ("clue", ["初步核实情况报告", "李建国", "妥否，请审示"]),
    "处理决定": ("clue", ["处理的决定", "李建国", "采购中心主任"]),
    "移送函": ("clue", ["问题线索移送函", "李建国", "现予移送"]),
    "反馈意见书": ("clue", ["反馈意见书", "已依规办理完毕"]),
    "主动说明问题登记表": ("disclosure", ["主动说明问题登记表", "购物卡", "0.2"]),
    "工作方案": ("campaign", ["医疗领域群众身边腐败和作风问题专项整治工作方案", "各阶段时间安排"]),
    "月度工作进展报告": ("monthly_report", ["专项整治工作进展情况报告", "内科"]),
    "党风廉政意见回复": ("opinion", ["党风廉政意见回复", "徐丽", "院党委〔2026〕3号", "未发现违反党风廉政建设规定的问题"]),
}
ISSUER = "清廉示范医院纪检监察室"    # the demo hospital's name (本院信息) + 纪检监察室


def _rendered(engine, demo) -> dict[str, bytes]:
    out = {}
    now = engine.clock.now()
    with read_transaction(engine.db) as conn:
        for kind in kinds.load_kinds().values():
            view = engine.show(demo[EXPECTED[kind.key][0]])
            values = fields.document_values(engine, conn, kind, view.data, business_key=view.business_key, now=now)
            values["doc_number"] = f"X纪{kind.number}〔2026〕7号" if kind.number else ""
            _version, template = templates.current(conn, kind)
            out[kind.key] = rendering.render(template, values)
    return out


def test_every_kind_of_the_issue_has_a_shipped_template():
    assert set(kinds.load_kinds()) == set(EXPECTED)


def test_every_shipped_template_renders_the_demo_data_as_docx(engine, demo):
    for key, docx in _rendered(engine, demo).items():
        text = rendering.text_of(docx)
        for expected in EXPECTED[key][1] + [ISSUER, "二〇二六年九月二十八日"]:
            assert expected in text, (key, expected)
        if kinds.kind(key).number:
            assert f"X纪{kinds.kind(key).number}〔2026〕7号" in text, key
        assert "{{" not in text and "}}" not in text, key


def test_every_shipped_template_converts_to_a_pdf_with_the_same_text_and_page_numbers(engine, demo):
    if not pdf.available():
        pytest.skip("LibreOffice is not installed (make test installs it)")
    rendered = _rendered(engine, demo)
    for key, converted in zip(rendered, pdf.convert(list(rendered.values()))):
        reader = PdfReader(io.BytesIO(converted))
        assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)       # A4
        text = "".join("".join(page.extract_text().split()) for page in reader.pages)
        for expected in EXPECTED[key][1] + [ISSUER, "二〇二六年九月二十八日", "—1—"]:
            assert "".join(expected.split()) in text, (key, expected)


def test_the_layout_follows_gb_t_9704():
    from docx import Document
    from docx.shared import Mm
    for kind in kinds.load_kinds().values():
        doc = Document(io.BytesIO(templates.shipped(kind)))
        s = doc.sections[0]
        mm = lambda *lengths: tuple(round(x.mm) for x in lengths)  # noqa: E731 (stored in twips)
        assert mm(s.page_width, s.page_height) == (210, 297)
        assert mm(s.top_margin, s.bottom_margin, s.left_margin, s.right_margin) == (37, 35, 28, 26)
        xml = doc.element.xml
        assert "仿宋_GB2312" in xml and "方正小标宋简体" in xml
        assert "— " in s.footer.paragraphs[0].text and "PAGE" in s.footer._element.xml
        if not kind.raw.get("plain"):
            assert 'w:color="E60012"' in xml, kind.key           # the 版头's red line


def test_the_shipped_templates_are_the_output_of_the_build_script(tmp_path):
    import shutil
    from engine.documents import build_templates
    shutil.copy(kinds.DOCUMENTS_DIR / kinds.CATALOGUE, tmp_path / kinds.CATALOGUE)
    build_templates.main([str(tmp_path)])
    for kind in kinds.load_kinds().values():
        assert (tmp_path / kind.file).read_bytes() == templates.shipped(kind), kind.file


def test_chinese_numeral_dates():
    from datetime import date
    assert rendering.chinese_numeral_date(date(2026, 12, 7)) == "二〇二六年十二月七日"
    assert rendering.chinese_numeral_date(date(2026, 10, 20)) == "二〇二六年十月二十日"
    assert rendering.chinese_numeral_date(date(2027, 1, 31)) == "二〇二七年一月三十一日"
