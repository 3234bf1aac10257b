"""医德考评 — seed 003 (二、开展医德医风建设): "医德考评实行季度考核记分，年度考核确定等级"; "完善院、科二级考评
管理。进行加减分项目登记和一票否决制". Entered per department by its head, or imported from Excel."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from engine.db.schema import conduct_score, event
from engine.errors import Forbidden, Invalid
from engine.records import conduct, conduct_import
from engine.org.people import signed_in as who      # the person, as a request's session names them

pytestmark = [pytest.mark.both_databases]



def score(engine, entrant, person, quarter, *items, veto=None, year=2026):
    return conduct.enter(engine, who(engine, entrant), person, {
        "year": year, "quarter": quarter, "veto": bool(veto), "veto_reason": veto,
        "items": [{"kind": k, "points": p, "reason": r} for k, p, r in items]})


def years(engine, person):
    with engine.db.connect() as conn:
        return conduct.years(conn, person)


def test_quarters_are_scored_with_plus_and_minus_items_and_the_year_is_graded(engine, people):
    """季度考核记分 (base 100 ± items), 年度考核确定等级 (the mean of the quarters: 优秀 from 90, 良好 from 80…)."""
    score(engine, "neike_head", "nurse", 1, ("plus", "2", "锦旗表扬"))
    score(engine, "neike_head", "nurse", 2, ("minus", "15", "收受患者礼品未上交"), ("minus", "10", "服务投诉"))
    score(engine, "neike_head", "nurse", 3)
    score(engine, "neike_head", "nurse", 4, ("plus", "0.5", "带教"))
    [year] = years(engine, "nurse")
    assert [q["score"] for q in year["quarters"]] == [102, 75, 100, 100.5]
    assert [q["grade"] for q in year["quarters"]] == ["优秀", "一般", "优秀", "优秀"]
    assert (year["score"], year["grade"], year["complete"]) == (Decimal("94.4"), "优秀", True)


def test_a_one_vote_veto_puts_the_quarter_and_the_year_at_the_lowest_grade(engine, people):
    """一票否决: whatever the points."""
    score(engine, "neike_head", "nurse", 1, ("plus", "5", "抢救表彰"))
    score(engine, "neike_head", "nurse", 2, veto="收受红包查实")
    [year] = years(engine, "nurse")
    assert [q["grade"] for q in year["quarters"]] == ["优秀", "较差"]
    assert (year["grade"], year["veto"]) == ("较差", True)


def test_a_head_scores_only_the_people_of_the_department_they_head(engine, people):
    """院、科二级: the head for the department, the office for the hospital."""
    with pytest.raises(Forbidden):
        score(engine, "waike_head", "nurse", 1, ("plus", "1", "表扬"))
    with pytest.raises(Forbidden):
        score(engine, "nurse2", "nurse", 1, ("plus", "1", "表扬"))
    score(engine, "jijian", "nurse", 1, ("minus", "3", "院级通报"))
    assert years(engine, "nurse")[0]["quarters"][0]["score"] == 97


def test_a_wrong_entry_names_each_field_in_chinese_and_saves_nothing(engine, people):
    with pytest.raises(Invalid) as refused:
        conduct.enter(engine, who(engine, "neike_head"), "nurse", {"year": "26", "quarter": "5", "veto": True,
                                                                  "items": [{"kind": "plus", "points": "abc", "reason": "x"},
                                                                            {"kind": "minus", "points": "2", "reason": ""}]})
    fields = {p.field: p.message for p in refused.value.problems}
    assert set(fields) == {"year", "quarter", "items.0.points", "items.1.reason", "veto_reason"}
    assert fields["quarter"] == "季度应为 1 至 4"
    assert years(engine, "nurse") == []


def test_entering_a_quarter_again_replaces_it_and_both_stay_on_the_hash_chain(engine, people):
    score(engine, "neike_head", "nurse", 1, ("minus", "5", "投诉"))
    score(engine, "neike_head", "nurse", 1, ("minus", "2", "投诉（复核后）"))
    assert years(engine, "nurse")[0]["quarters"][0]["score"] == 98
    with engine.db.connect() as conn:
        logged = [json.loads(d) for d in conn.execute(sa.select(event.c.data_json).where(
            event.c.chain == conduct.CHAIN).order_by(event.c.seq)).scalars()]
    assert [e["items"][0]["points"] for e in logged] == ["5", "2"]
    assert logged[1]["before"]["items"][0]["reason"] == "投诉"


def workbook(rows, header=("工号", "姓名", "年度", "季度", "加分", "加分事由", "减分", "减分事由", "一票否决", "否决事由")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_scores_are_imported_from_excel_one_row_per_item(engine, people):
    data = workbook([
        ("nurse", "王护士", 2026, 3, 2, "患者表扬", None, None, None, None),
        ("nurse", "王护士", 2026, 3, None, None, 4, "病历书写不规范", None, None),
        ("nurse2", "李护士", 2026, 3, None, None, None, None, "是", "收受红包查实")])
    assert conduct_import.import_scores(engine, who(engine, "neike_head"), data) == {"quarters": 2, "people": 2}
    assert years(engine, "nurse")[0]["quarters"][0]["score"] == 98
    assert years(engine, "nurse2")[0]["grade"] == "较差"
    with engine.db.connect() as conn:
        assert set(conn.execute(sa.select(conduct_score.c.source)).scalars()) == {"import"}


def test_an_import_with_wrong_rows_says_each_row_in_chinese_and_imports_nothing(engine, people):
    data = workbook([
        ("nurse", "王护士", 2026, 3, 2, "患者表扬", None, None, None, None),
        ("nurse", "王护士", 2026, 5, None, None, None, None, None, None),
        ("ghost", "无此人", 2026, 3, 1, "表扬", None, None, None, None),
        ("nurse2", "张三", 2026, 3, 1, "表扬", None, None, None, None),
        ("surgeon", "赵医生", 2026, 3, 1, "表扬", None, None, None, None),
        ("nurse2", "李护士", 2026, 3, None, None, "五", "迟到", "也许", None)])
    with pytest.raises(Invalid) as refused:
        conduct_import.import_scores(engine, who(engine, "neike_head"), data)
    said = [p.message for p in refused.value.problems]
    assert refused.value.message == "有 5 行有误，未导入任何数据"
    assert said == ["第 3 行：季度应为 1 至 4", "第 4 行：找不到工号为“ghost”的在职职工",
                    "第 5 行：工号“nurse2”是李护士，与所填姓名“张三”不符",
                    "第 6 行：赵医生不是您负责科室的职工，不能为其评分",
                    "第 7 行：一票否决应填“是”或留空（现为“也许”）"]
    assert years(engine, "nurse") == []


def test_a_file_that_is_not_a_workbook_or_lacks_the_header_is_refused(engine, people):
    with pytest.raises(Invalid) as refused:
        conduct_import.import_scores(engine, who(engine, "jijian"), b"not a workbook")
    assert refused.value.problems[0].message == "无法读取该文件，请上传 .xlsx 格式的 Excel 文件"
    with pytest.raises(Invalid) as refused:
        conduct_import.import_scores(engine, who(engine, "jijian"), workbook([], header=("姓名", "分数")))
    assert refused.value.problems[0].message == "第 1 行应为表头，缺少列：工号、年度、季度"
