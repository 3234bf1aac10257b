"""Importing a hospital's departments and staff from the spreadsheets its personnel office keeps."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timezone

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.org import accounts, importing as org_import, spreadsheet
from engine.cli.main import main
from engine.db.transactions import write_transaction
from engine.errors import Invalid
from engine.org.people import get_staff, save_department, save_staff
from engine.db.schema import department, staff

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 9, 28, 1, 0, tzinfo=timezone.utc)

DEPARTMENTS = [
    ("科室代码", "科室名称", "类别（职能/临床/医技）", "负责人"),
    ("jijianshi", "纪检监察室", "职能", "jijian"),
    ("neike", "内科", "临床科室", "neike_head"),
    ("jianyanke", "检验科", "医技", ""),
]
STAFF = [
    ("工号/用户名", "姓名", "科室", "职级", "党员", "角色", "邮箱"),
    ("jijian", "赵敏", "纪检监察室", "中层", "是", "纪检监察室、task_force", "jijian@hospital.example"),
    ("neike_head", "张明华", "neike", "中层", "是", "", None),
    ("neike_nurse1", "徐丽", "内科", "其他", "否", None, None),
    (10023, "魏东", "检验科", None, "中共党员", "审计员, 领导小组", None),
]


def xlsx(**sheets) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue().encode(encoding)


def run_import(db, plan, **kw):
    with write_transaction(db) as conn:
        return org_import.apply(conn, plan, NOW, **kw)


def check(db, plan):
    with db.connect() as conn:
        return org_import.preview(conn, plan)


def count(db, table) -> int:
    with db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def person(db, username) -> dict:
    with db.connect() as conn:
        return get_staff(conn, username)


def test_a_workbook_with_a_title_row_imports_departments_and_the_staff_that_head_them(db):
    data = xlsx(说明=[("请按模板填写",)], 科室=[("某某医院科室一览表",), *DEPARTMENTS], 人员=STAFF)
    plan = spreadsheet.parse("组织架构.xlsx", data)
    assert [r.line for r in plan.departments] == [3, 4, 5] and [r.line for r in plan.staff] == [2, 3, 4, 5]
    assert plan.departments[0].source == "组织架构.xlsx[科室]"
    assert any("说明" in w.message for w in plan.warnings)

    preview = check(db, plan)
    assert preview.ok, preview.problems
    assert (preview.departments_new, preview.staff_new, preview.staff_without_password) == (3, 4, 4)
    assert count(db, department) == 0, "a preview writes nothing"

    seen = []
    run_import(db, plan, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (7, 7) and len(seen) == 7
    with db.connect() as conn:
        heads = dict(conn.execute(sa.select(department.c.code, department.c.head)).all())
        categories = dict(conn.execute(sa.select(department.c.code, department.c.category)).all())
    assert heads == {"jijianshi": "jijian", "neike": "neike_head", "jianyanke": None}
    assert categories == {"jijianshi": "administrative", "neike": "clinical", "jianyanke": "medical_technical"}
    jijian = person(db, "jijian")
    assert jijian["roles"] == ["department_head", "discipline_office", "staff", "task_force"]
    assert (jijian["department"], jijian["position_level"], jijian["party_member"]) == (
        "jijianshi", "middle_manager", True)
    assert person(db, "neike_head")["roles"] == ["department_head", "staff"]
    nurse = person(db, "neike_nurse1")
    assert (nurse["department"], nurse["position_level"], nurse["party_member"], nurse["roles"]) == (
        "neike", "other", False, ["staff"])
    wei = person(db, "10023")
    assert wei["roles"] == ["auditor", "leadership_group", "staff"] and wei["party_member"] is True
    with db.connect() as conn:
        assert conn.execute(sa.select(staff.c.password_hash).where(staff.c.username == "jijian")).scalar() is None


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_a_csv_saved_by_chinese_excel_refers_to_departments_already_in_the_system(db, encoding):
    with write_transaction(db) as conn:
        for code, name, category in (("jijianshi", "纪检监察室", "administrative"), ("neike", "内科", "clinical"),
                                     ("jianyanke", "检验科", "medical_technical")):
            save_department(conn, {"code": code, "name_zh": name, "category": category}, NOW)
    plan = spreadsheet.parse("人员.csv", csv_bytes(STAFF, encoding))
    assert plan.staff[0].values["name"] == "赵敏" and not plan.departments
    assert run_import(db, plan).staff_new == 4
    assert person(db, "neike_nurse1")["department"] == "neike"
    assert person(db, "10023")["department"] == "jianyanke"


def test_departments_alone_from_a_csv_then_heads_in_a_second_file(db):
    run_import(db, spreadsheet.parse("科室.csv", csv_bytes([DEPARTMENTS[0], DEPARTMENTS[3]])))
    plan = spreadsheet.parse("科室.csv", csv_bytes(DEPARTMENTS))
    preview = check(db, plan)
    assert not preview.ok
    assert [(p.line, p.field) for p in preview.problems] == [(2, "负责人"), (3, "负责人")]
    both = spreadsheet.merge(plan, spreadsheet.parse("人员.csv", csv_bytes(STAFF)))
    preview = check(db, both)
    assert preview.ok and (preview.departments_new, preview.departments_unchanged) == (2, 1)


def test_importing_again_updates_what_changed_and_keeps_what_the_file_does_not_mention(db):
    run_import(db, spreadsheet.parse("组织架构.xlsx", xlsx(科室=DEPARTMENTS, 人员=STAFF)))
    again = spreadsheet.parse("组织架构.xlsx", xlsx(科室=DEPARTMENTS, 人员=STAFF))
    p = check(db, again)
    assert (p.departments_unchanged, p.staff_unchanged, p.departments_new + p.staff_new) == (3, 4, 0)

    changed = [("用户名", "姓名", "职级", "角色"),                  # no 科室, 党员 or 邮箱 column: kept
               ("jijian", "赵敏", "中层", "纪检监察室"),
               ("neike_head", "张明华", "中层", ""),
               ("neike_nurse1", "徐丽", "中层", ""),
               ("waike_nurse1", "秦雪梅", "其他", "")]
    plan = spreadsheet.parse("调整.csv", csv_bytes(changed))
    p = run_import(db, plan)
    assert (p.staff_new, p.staff_updated, p.staff_unchanged) == (1, 2, 1)
    jijian = person(db, "jijian")
    assert jijian["email"] == "jijian@hospital.example" and jijian["party_member"] is True
    assert jijian["roles"] == ["department_head", "discipline_office", "staff"], "roles replaced; a head stays a head"
    assert person(db, "neike_nurse1")["position_level"] == "middle_manager"
    assert person(db, "waike_nurse1")["department"] is None


def test_every_row_error_is_listed_with_its_line_and_nothing_is_written(db):
    rows = [*DEPARTMENTS[:3],
            ("waike", "外科", "手术", "nobody"),                       # line 4: bad category, unknown head
            ("erke", "内科", "临床", "")]                              # line 5: name taken in the file
    people = [*STAFF[:3],
              ("neike_head", "张三", "neike", "", "", "", ""),       # line 4: username twice
              ("bad name", "李四", "neike", "", "", "", ""),         # line 5: not a username
              ("zhao", "赵六", "妇产科", "主任", "也许", "院长", "not-an-email")]  # line 6
    plan = spreadsheet.parse("坏.xlsx", xlsx(科室=rows, 人员=people))
    with pytest.raises(Invalid) as err:
        run_import(db, plan)
    found = {(p.file, p.line, p.field) for p in err.value.problems}
    assert found == {
        ("坏.xlsx[科室]", 4, "类别（职能/临床/医技）"), ("坏.xlsx[科室]", 4, "负责人"), ("坏.xlsx[科室]", 5, "科室名称"),
        ("坏.xlsx[人员]", 4, "工号/用户名"), ("坏.xlsx[人员]", 5, "工号/用户名"),
        ("坏.xlsx[人员]", 6, "科室"), ("坏.xlsx[人员]", 6, "职级"), ("坏.xlsx[人员]", 6, "党员"),
        ("坏.xlsx[人员]", 6, "角色"), ("坏.xlsx[人员]", 6, "邮箱")}
    assert "与坏.xlsx[人员] 第 3 行重复" in str(err.value)
    assert "“主任”不是有效的职级" in str(err.value)
    assert count(db, department) == 0 and count(db, staff) == 0


def test_an_initial_password_column_lets_new_people_sign_in_but_never_replaces_a_password(db):
    with write_transaction(db) as conn:
        save_department(conn, {"code": "neike", "name_zh": "内科", "category": "clinical"}, NOW)
        save_staff(conn, {"username": "neike_head", "name": "张明华", "department": "neike"}, NOW)
        accounts.set_password(conn, "neike_head", "own-secret-1", NOW)
    rows = [("用户名", "姓名", "科室", "初始密码"), ("neike_head", "张明华", "内科", "Init@2026"),
            ("neike_nurse1", "徐丽", "内科", "Init@2026"), ("neike_nurse2", "胡静", "内科", "")]
    plan = spreadsheet.parse("人员.csv", csv_bytes(rows))
    assert "Init@2026" not in repr(plan)
    p = run_import(db, plan)
    assert (p.passwords_set, p.staff_without_password) == (1, 1)
    assert any("已有密码" in w.message for w in p.warnings)
    assert "Init@2026" not in json.dumps(p.to_dict(), ensure_ascii=False)
    assert accounts.authenticate(db, "neike_nurse1", "Init@2026", NOW).department == "neike"
    assert accounts.authenticate(db, "neike_head", "own-secret-1", NOW).name == "张明华"

    short = spreadsheet.parse("人员.csv", csv_bytes([rows[0], ("neike_nurse3", "程琳", "内科", "abc")]))
    assert [p.field for p in short.errors] == ["初始密码"]
    assert "abc" not in str(short.errors[0])


def test_files_that_cannot_be_imported_are_refused_with_a_clear_reason(monkeypatch):
    def refused(name, data) -> str:
        with pytest.raises(Invalid) as err:
            spreadsheet.parse(name, data)
        return str(err.value)

    assert "5 MB" in refused("big.csv", b"x" * (spreadsheet.MAX_BYTES + 1))
    assert ".xls" in refused("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "无法读取" in refused("broken.xlsx", b"PK\x03\x04 not really a zip")
    not_a_workbook = io.BytesIO()
    with zipfile.ZipFile(not_a_workbook, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    assert "无法读取" in refused("letter.xlsx", not_a_workbook.getvalue())
    assert "无法识别表头" in refused("other.csv", csv_bytes([("a", "b"), ("1", "2")]))
    assert "缺少必填列“姓名”" in refused("人员.csv", csv_bytes([("工号", "科室"), ("x", "neike")]))
    assert "没有可导入的数据" in refused("人员.csv", csv_bytes([STAFF[0]]))
    assert "无法识别表头" in refused("组织.xlsx", xlsx(人员=[("随便", "什么")]))
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 3)
    assert "超过 3 行" in refused("人员.csv", csv_bytes(STAFF))
    assert "超过 3 行" in refused("组织.xlsx", xlsx(人员=STAFF))


def test_a_formula_cell_is_never_evaluated():
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["用户名", "姓名"])
    ws.append(["x1", '=HYPERLINK("http://evil.example","点我")'])
    out = io.BytesIO()
    book.save(out)
    plan = spreadsheet.parse("f.xlsx", out.getvalue())
    # openpyxl writes no cached value, so the cell reads as empty rather than running anything.
    assert [p.message for p in plan.errors] == ["请填写姓名"]


# --- the command line -------------------------------------------------------------------------------

@pytest.fixture
def cli(db, tmp_path):
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False)}

    def run(*args, code=0):
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result
    return run


def test_import_org_dry_run_shows_the_counts_and_writes_nothing(cli, db, tmp_path):
    path = tmp_path / "组织架构.xlsx"
    path.write_bytes(xlsx(科室=DEPARTMENTS, 人员=STAFF))
    out = cli("import-org", str(path), "--dry-run").output
    assert "新增 3" in out and "新增 4" in out and "dry run: nothing written" in out
    assert count(db, staff) == 0
    result = json.loads(cli("--json", "import-org", str(path)).output)
    assert result["applied"] and result["staff_new"] == 4
    assert count(db, staff) == 4


def test_import_org_with_row_errors_exits_non_zero_and_changes_nothing(cli, db, tmp_path):
    path = tmp_path / "人员.csv"
    path.write_bytes(csv_bytes([STAFF[0], STAFF[1], ("neike_x", "某", "不存在的科室", "中层", "是", "", "")], "gbk"))
    r = cli("import-org", str(path), code=2)
    assert "人员.csv:2 科室: 科室“纪检监察室”不存在" in r.stderr
    assert "人员.csv:3 科室: 科室“不存在的科室”不存在" in r.stderr
    assert "nothing imported" in r.stderr
    assert count(db, staff) == 0


# --- the demo hospital --------------------------------------------------------------------------------

def test_the_demo_hospital_has_every_category_and_every_role_and_loads_twice(tmp_path):
    from engine.config import Settings
    from engine.demo.hospital import DEMO_PASSWORD
    from engine.org.hospital import hospital_name
    from engine.org.people import departments, list_staff
    from engine.org.roles import BUILTIN_ROLES
    from engine.bootstrap import open_engine
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "QINGLIAN_INSTANCE_DIR": str(tmp_path)}
    runner = CliRunner()
    first = runner.invoke(main, ["init-db", "--demo"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert f"demo password: {DEMO_PASSWORD}" in first.output and "neike_head" in first.output
    second = runner.invoke(main, ["--json", "init-db", "--demo"], env=env, catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["staff"].startswith("0 new")

    engine = open_engine(Settings.from_env(env))
    with write_transaction(engine.db) as conn:
        depts, people = departments(conn), list_staff(conn)
        assert len(depts) >= 12
        assert {d["category"] for d in depts} == {"administrative", "clinical", "medical_technical"}
        assert len(people) >= 40
        usernames = {p["username"] for p in people}
        assert all(d["head"] in usernames for d in depts)
        assert {r for p in people for r in p["roles"]} >= {code for code, _, _ in BUILTIN_ROLES}
        assert sum(p["party_member"] for p in people) >= 10
        assert {"admin", "jijian", "neike_head", "neike_nurse1", "shenji", "liucheng"} <= usernames
        assert "department_head" in get_staff(conn, "neike_head")["roles"]
        assert "discipline_office" in get_staff(conn, "jijian")["roles"]
        assert "admin" in get_staff(conn, "admin")["roles"]
        assert hospital_name(conn) == "清廉示范医院"      # it heads the demo's reports
    assert accounts.authenticate(engine.db, "neike_head", DEMO_PASSWORD, NOW).heads == {"neike"}
    engine.db.dispose()


def _shared_strings_bomb(count: int) -> bytes:
    """A workbook of ~200 kB whose shared-string table unpacks to millions of entries (openpyxl reads
    the whole table at open, even in read-only mode: 81 s of CPU and 520 MB for such a file)."""
    book = io.BytesIO()
    openpyxl.Workbook().save(book)
    source = zipfile.ZipFile(io.BytesIO(book.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.'
                                          b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                          b'Target="sharedStrings.xml"/></Relationships>')
            if item.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                          b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                                          b'sharedStrings+xml"/></Types>')
            z.writestr(item, content)
        z.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   + "<si><t>x</t></si>" * count + "</sst>")
    return out.getvalue()


def test_a_small_file_that_unpacks_to_a_huge_string_table_is_refused_before_it_is_read():
    bomb = _shared_strings_bomb(4_000_000)
    assert len(bomb) < 300_000
    with pytest.raises(Invalid, match="解压后过大"):
        spreadsheet.parse("组织.xlsx", bomb)
