"""医德考评 imported from Excel: a workbook whose first sheet has a header row and one row per 加分 /
减分 item (or per quarter) — 工号, 姓名, 年度, 季度, 加分, 加分事由, 减分, 减分事由, 一票否决, 否决事由.

Rows of one person and quarter add up to that quarter's items; the quarter replaces what was entered
before, as on the department page. The file is streamed (openpyxl read-only, values only, never
formulas), refused before opening when it is too large or unpacks too far, and capped at `MAX_ROWS`.
Nothing is saved unless every row is right: each wrong row is named (第 N 行) with what is wrong.
"""
from __future__ import annotations

import io
import zipfile
import zlib

import sqlalchemy as sa

from engine.db.schema import staff
from engine.db.transactions import write_transaction
from engine.errors import Invalid, Problem
from engine.org import spreadsheet
from engine.org.people import Principal
from engine.records import conduct

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_PROBLEMS = 50                  # a file wrong throughout: the first 50 rows said, then a count
COLUMNS = {
    "username": ("工号", "工号/用户名", "用户名", "username"),
    "name": ("姓名", "name"),
    "year": ("年度", "year"),
    "quarter": ("季度", "quarter"),
    "plus": ("加分", "plus"),
    "plus_reason": ("加分事由", "加分项目", "plus_reason"),
    "minus": ("减分", "minus"),
    "minus_reason": ("减分事由", "减分项目", "minus_reason"),
    "veto": ("一票否决", "veto"),
    "veto_reason": ("否决事由", "一票否决事由", "veto_reason"),
}
REQUIRED = ("username", "year", "quarter")
YES = {"是", "否决", "y", "yes", "true", "1", "√"}
NO = {"", "否", "n", "no", "false", "0"}


def _fail(message: str):
    raise Invalid(message, [Problem(message, field="file", code="bad_file")])


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(data: bytes):
    """(line, values) of the first sheet, streamed."""
    import openpyxl
    if len(data) > MAX_BYTES:
        _fail(f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，请分批导入")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > spreadsheet.MAX_UNZIPPED:
                _fail("Excel 文件解压后过大，请删除无关的工作表")
            if spreadsheet._shared_strings(z) > spreadsheet.MAX_SHARED_STRINGS:
                _fail("Excel 文件中的文字过多，请分批导入")
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Invalid:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError, ValueError):
        _fail("无法读取该文件，请上传 .xlsx 格式的 Excel 文件")
    try:
        ws = book.worksheets[0]
        for line, values in enumerate(ws.iter_rows(max_col=spreadsheet.MAX_COLUMNS, values_only=True), start=1):
            if line > MAX_ROWS + 1:
                _fail(f"超过 {MAX_ROWS} 行上限，请分批导入")
            yield line, values
    except Invalid:
        raise
    except Exception:   # openpyxl raises many kinds of error on a damaged file
        _fail("无法读取该文件，请上传 .xlsx 格式的 Excel 文件")
    finally:
        book.close()


def _header(values) -> dict[str, int]:
    found = {}
    for i, v in enumerate(values):
        key = _text(v).replace(" ", "").rstrip("*").lower()
        for name, aliases in COLUMNS.items():
            if key in {a.lower() for a in aliases} and name not in found:
                found[name] = i
    return found


def read(data: bytes) -> tuple[dict[tuple[str, int, int], dict], list[str], dict[tuple, str]]:
    """The quarters the file holds ((username, year, quarter) -> entry as `conduct.clean_entry` takes it),
    the rows' problems, and the name each quarter's rows gave (checked against the staff record)."""
    quarters: dict[tuple[str, int, int], dict] = {}
    names: dict[tuple, str] = {}
    problems: list[str] = []
    header = None
    for line, values in _rows(data):
        values = list(values or ())
        if header is None:
            header = _header(values)
            missing = [COLUMNS[c][0] for c in REQUIRED if c not in header]
            if missing:
                _fail("第 1 行应为表头，缺少列：" + "、".join(missing))
            continue
        cell = {k: _text(values[i]) if i < len(values) else "" for k, i in header.items()}
        if not any(cell.values()):
            continue
        items = []
        for kind in ("plus", "minus"):
            if cell.get(kind) or cell.get(f"{kind}_reason"):
                items.append({"kind": kind, "points": cell.get(kind) or "", "reason": cell.get(f"{kind}_reason") or ""})
        veto_text = (cell.get("veto") or "").lower()
        if veto_text not in YES | NO:
            problems.append(f"第 {line} 行：一票否决应填“是”或留空（现为“{cell.get('veto')}”）")
            continue
        try:
            entry = conduct.clean_entry({"year": cell.get("year"), "quarter": cell.get("quarter"), "items": items,
                                         "veto": veto_text in YES, "veto_reason": cell.get("veto_reason")})
        except Invalid as e:
            problems.append(f"第 {line} 行：" + "；".join(_say(p) for p in e.problems))
            continue
        if not cell.get("username"):
            problems.append(f"第 {line} 行：缺少工号")
            continue
        key = (cell["username"], entry["year"], entry["quarter"])
        q = quarters.setdefault(key, {**entry, "items": [], "lines": []})
        q["items"].extend(entry["items"])
        q["veto"] = q["veto"] or entry["veto"]
        q["veto_reason"] = q["veto_reason"] or entry["veto_reason"]
        q["lines"].append(line)
        if cell.get("name"):
            names[key] = cell["name"]
    if header is None:
        _fail("文件是空的：第 1 行应为表头（工号、姓名、年度、季度、加分、加分事由、减分、减分事由、一票否决、否决事由）")
    return quarters, problems, names


FIELD_NAMES = {"year": "年度", "quarter": "季度", "veto_reason": "否决事由", "kind": "加减分", "points": "分值",
               "reason": "事由", "items": "加减分项目"}


def _say(p: Problem) -> str:
    last = (p.field or "").split(".")[-1]
    return f"{FIELD_NAMES.get(last, last)}{p.message}" if last in ("points", "reason") else p.message


def import_scores(engine, entrant: Principal, data: bytes) -> dict:
    """Import a workbook of scores: every quarter saved in one transaction, or — when any row is
    wrong — nothing, and `Invalid` says each wrong row (field `file`)."""
    conduct.require_scorer(entrant)
    quarters, problems, names = read(data)
    now = engine.clock.now()
    with write_transaction(engine.db) as conn:
        people = {r.username: r for r in conn.execute(sa.select(staff.c.username, staff.c.name, staff.c.department,
                                                                 staff.c.active).where(
            staff.c.username.in_(sorted({k[0] for k in quarters}) or ["-"])))}
        for key, q in quarters.items():
            line = q["lines"][0]
            person = people.get(key[0])
            if person is None or not person.active:
                problems.append(f"第 {line} 行：找不到工号为“{key[0]}”的在职职工")
            elif key in names and names[key] != person.name:
                problems.append(f"第 {line} 行：工号“{key[0]}”是{person.name}，与所填姓名“{names[key]}”不符")
            elif not conduct.may_score(entrant, person.department):
                problems.append(f"第 {line} 行：{person.name}不是您负责科室的职工，不能为其评分")
        if problems:
            problems.sort(key=lambda m: int(m.split(" ")[1]) if m.startswith("第 ") else 0)
            shown = problems[:MAX_PROBLEMS]
            if len(problems) > MAX_PROBLEMS:
                shown.append(f"另有 {len(problems) - MAX_PROBLEMS} 行有误")
            raise Invalid(f"有 {len(problems)} 行有误，未导入任何数据", [Problem(m, field="file", code="bad_row")
                                                                  for m in shown])
        for key, q in quarters.items():
            entry = {k: q[k] for k in ("year", "quarter", "items", "veto", "veto_reason")}
            conduct.save_quarter(conn, entrant, key[0], entry, now, source="import")
    return {"quarters": len(quarters), "people": len({k[0] for k in quarters})}
