"""The process analytics pages (流程分析) as process owners and auditors read them: the figures on the
page and on the diagram, the date range (a bad date said next to its field), the Excel export with
formulas neutralised, and who may read them."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from engine.audit.analytics import service
from engine.bpmn.validation import SourceFile
from engine.db.schema import process_version
from tests.conftest import bpmn
from tests.helpers import analytics_log as log
from tests.helpers.web import login


def _deploy(engine, *, name: str = "Fill") -> int:
    """W1 with its diagram drawn (steps `fill`, `review`), its first step named `name`."""
    xml = bpmn("w1_drawn.bpmn").replace(b'name="Fill"', f'name="{name}"'.encode())
    engine.deploy([SourceFile("w1.bpmn", xml)], deployed_by="owner")
    with engine.db.connect() as conn:
        return conn.execute(sa.select(sa.func.max(process_version.c.id))).scalar()


@pytest.fixture
def w1(engine, db, people):
    vid = _deploy(engine, name="填写")
    log.the_log(db, vid)
    service.refresh(engine)
    return vid


def test_the_owner_reads_the_figures_of_a_version(app, w1):
    c = app.test_client()
    login(c, "owner")
    assert "流程分析" in c.get("/inbox").get_data(as_text=True)                   # the menu
    assert f"/analytics/versions/{w1}" in c.get("/analytics").get_data(as_text=True)
    page = c.get(f"/analytics/versions/{w1}").get_data(as_text=True)
    assert "已完成 3 个实例，共 3 种路径" in page
    assert "填写 → 填写 → Review" in page                    # a variant, by the diagram's names
    assert "内科" in page and "50%" in page                   # the department's overdue rate
    assert "按环节和科室" in page and "(1/2)" in page          # and per step and department
    overlay = c.get(f"/analytics/versions/{w1}", headers={"Accept": "application/json"}).get_json()
    assert overlay["xml"].startswith("<?xml")
    assert overlay["overlays"]["fill"] == {"level": 4, "label": "中位 2.0 小时 · P90 6.0 小时 · 超期 50%"}
    assert overlay["overlays"]["review"]["level"] == 2 and "超期" not in overlay["overlays"]["review"]["label"]


def test_a_date_range_narrows_and_a_bad_date_is_said_next_to_its_field(app, w1):
    c = app.test_client()
    login(c, "auditor")
    page = c.get(f"/analytics/versions/{w1}?from=2026-09-29&to=2026-09-29").get_data(as_text=True)
    assert "已完成 1 个实例" in page and "2026年9月29日" in page
    bad = c.get(f"/analytics/versions/{w1}?from=2026-09-30&to=2026-09-01")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in text and 'value="2026-09-01"' in text
    bad = c.get(f"/analytics/versions/{w1}?from=28/9/2026")
    assert bad.status_code == 422 and "日期格式应为 2026-09-28" in bad.get_data(as_text=True)
    assert c.get(f"/analytics/versions/{w1}.xlsx?from=nope").status_code == 422


def test_the_page_in_english(app, w1):
    c = app.test_client()
    login(c, "auditor")
    with app.extensions["qinglian"].db.begin() as conn:
        from engine.db.schema import staff
        conn.execute(staff.update().where(staff.c.username == "auditor").values(locale="en"))
    page = c.get(f"/analytics/versions/{w1}").get_data(as_text=True)
    assert "Process analytics" in page and "3 instances finished, 3 paths" in page
    overlay = c.get(f"/analytics/versions/{w1}", headers={"Accept": "application/json"}).get_json()
    assert overlay["overlays"]["fill"]["label"].startswith("median 2.0 h")


def test_the_export_holds_the_figures_with_formulas_neutralised(app, engine, db, people):
    vid = _deploy(engine, name="=HYPERLINK(&quot;http://x&quot;)")
    log.the_log(db, vid)
    service.refresh(engine)
    c = app.test_client()
    login(c, "owner")
    resp = c.get(f"/analytics/versions/{vid}.xlsx?to=2026-09-30")
    assert resp.status_code == 200 and "analytics-w1_process" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    steps = list(wb.worksheets[0].iter_rows(values_only=True))
    fill = next(r for r in steps if r[1] == "fill")
    assert fill[0] == "'=HYPERLINK(\"http://x\")"                  # text, never a formula
    assert fill[2:6] == (4, 2.0, 6.0, 3.0) and fill[-1] == 50.0
    variants = list(wb.worksheets[2].iter_rows(values_only=True))
    assert any(r[1].startswith("'=HYPERLINK") and r[3] == 1 for r in variants[1:])
    rows = list(wb.worksheets[1].iter_rows(values_only=True))
    depts = {r[0]: r[1:5] for r in rows}
    assert depts["外科"] == (2, 2, 1, 50.0)
    assert ("'=HYPERLINK(\"http://x\")", "外科", 2, 2, 1, 50.0) in rows       # per step and department


@pytest.mark.parametrize("username,status", [("nurse", 403), ("neike_head", 403), ("security", 403),
                                             ("auditor", 200), ("jijian", 200), ("admin", 200), ("owner", 200)])
def test_who_may_read_analytics(app, w1, username, status):
    c = app.test_client()
    login(c, username)
    for path in ("/analytics", f"/analytics/versions/{w1}", f"/analytics/versions/{w1}.xlsx"):
        assert c.get(path).status_code == status, path
    assert ("流程分析" in c.get("/inbox").get_data(as_text=True)) == (status == 200)


def test_an_unknown_version_is_not_found(app, w1):
    c = app.test_client()
    login(c, "owner")
    assert c.get(f"/analytics/versions/{w1 + 99}").status_code == 404
    assert c.get(f"/analytics/versions/{w1 + 99}.xlsx").status_code == 404
