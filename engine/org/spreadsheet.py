"""Reading the organisation's spreadsheet: an .xlsx or .csv file of departments (科室) and staff (人员)
into an `ImportPlan`, without touching the database. Every cell is checked here (codes, categories,
levels, party membership, e-mail, roles as written by people); what the rows mean for the database
is `engine.org.importing`'s to say. The file format: docs/org-import.md.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Callable

from engine.errors import Invalid, Problem
from engine.org import accounts

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_UNZIPPED = 100 * 1024 * 1024   # an .xlsx is a zip: refuse a zip bomb before opening it
# openpyxl reads the whole shared-string table when it opens a workbook, read-only mode too: a 232 kB
# file whose table unpacks to millions of entries cost 81 s of CPU and 520 MB. Counted before opening.
MAX_SHARED_STRINGS = 200_000        # 20,000 rows of 10 distinct texts
HEADER_SEARCH = 5                  # a title row or two may sit above the header row

DEPARTMENT, STAFF = "department", "staff"

# Header aliases per kind of sheet, compared by _header_key (case, spaces, "(hint)" and "*" ignored).
COLUMNS = {
    DEPARTMENT: {
        "code": ("科室代码", "科室编码", "代码", "编码", "code"),
        "name_zh": ("科室名称", "名称", "name", "name_zh"),
        "name_en": ("英文名称", "name_en", "english_name"),
        "category": ("类别", "科室类别", "category"),
        "head": ("负责人", "科室负责人", "负责人工号", "head"),
    },
    STAFF: {
        "username": ("工号/用户名", "工号", "用户名", "username"),
        "name": ("姓名", "name"),
        "department": ("科室", "所在科室", "科室代码", "科室名称", "department"),
        "position_level": ("职级", "position_level", "level"),
        "party_member": ("党员", "是否党员", "政治面貌", "party_member"),
        "public_employee": ("公职人员", "是否公职人员", "public_employee"),
        "roles": ("角色", "roles"),
        "email": ("邮箱", "电子邮箱", "email", "e-mail"),
        "locale": ("语言", "locale"),
        "password": ("初始密码", "password", "initial_password"),
    },
}
REQUIRED = {DEPARTMENT: ("code", "name_zh", "category"), STAFF: ("username", "name")}
# Sheets that must be readable: an .xlsx may hold other sheets (instructions...), which are skipped.
SHEET_NAMES = ("科室", "人员", "departments", "staff")

CATEGORIES = {"职能": "administrative", "职能科室": "administrative", "行政": "administrative",
              "临床": "clinical", "临床科室": "clinical", "医技": "medical_technical",
              "医技科室": "medical_technical", "administrative": "administrative", "clinical": "clinical",
              "medical_technical": "medical_technical", "medical-technical": "medical_technical"}
LEVELS = {"": "other", "院领导": "hospital_leader", "院级领导": "hospital_leader", "hospital_leader": "hospital_leader",
          "中层": "middle_manager", "中层干部": "middle_manager", "其他": "other", "其它": "other",
          "普通": "other", "middle_manager": "middle_manager", "other": "other"}
PARTY = {**dict.fromkeys(("是", "y", "yes", "true", "1", "√", "✓", "党员", "中共党员", "中共预备党员",
                          "预备党员"), True),
         **dict.fromkeys(("", "否", "n", "no", "false", "0", "×", "群众", "非党员", "共青团员", "团员"), False)}
YES_NO = {**dict.fromkeys(("是", "y", "yes", "true", "1", "√", "✓", "公职人员"), True),
          **dict.fromkeys(("", "否", "n", "no", "false", "0", "×", "非公职人员"), False)}
LOCALES = {"": "zh", "zh": "zh", "中文": "zh", "en": "en", "英文": "en", "english": "en"}
IDENTIFIER = re.compile(r"[A-Za-z0-9._-]{1,64}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ROLE_SEPARATORS = re.compile(r"[,，、;；/\s]+")


@dataclass
class Row:
    """One data row of a sheet: the values it sets (only for the columns the sheet has)."""
    kind: str
    values: dict
    line: int                       # the row number a spreadsheet program shows
    source: str                     # "file.csv" or "file.xlsx[人员]"
    headers: dict                   # field -> the header as written in the file
    errors: list[Problem] = field(default_factory=list)
    password: str | None = field(default=None, repr=False)

    def problem(self, message: str, field_name: str | None = None) -> Problem:
        return Problem(message, file=self.source, line=self.line,
                       field=self.headers.get(field_name, field_name), code="row")

    def where(self) -> str:
        return f"{self.source} 第 {self.line} 行"


@dataclass
class ImportPlan:
    filename: str
    departments: list[Row] = field(default_factory=list)
    staff: list[Row] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return self.departments + self.staff

    @property
    def errors(self) -> list[Problem]:
        return [p for r in self.rows for p in r.errors]


def merge(*plans: ImportPlan) -> ImportPlan:
    """Several files imported as one (e.g. a departments CSV and a staff CSV)."""
    return ImportPlan(", ".join(p.filename for p in plans), [r for p in plans for r in p.departments],
                      [r for p in plans for r in p.staff], [w for p in plans for w in p.warnings])


# --- reading the file -----------------------------------------------------------------------------

def parse(filename: str, data: bytes) -> ImportPlan:
    """Read an .xlsx or .csv file into a plan; file-level problems raise `Invalid`, row-level ones
    are kept on the rows. The file is untrusted: size-limited, and formulas are never evaluated."""
    if len(data) > MAX_BYTES:
        _fail(filename, f"文件超过 {MAX_BYTES // (1024 * 1024)} MB 上限")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        _fail(filename, "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    if data.startswith(b"PK\x03\x04"):
        sheets = _read_xlsx(filename, data)
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        _fail(filename, "无法读取该 Excel 文件，请确认是 .xlsx 格式")
    else:
        sheets = [(filename, None, _read_csv(filename, data))]
    plan, problems, total = ImportPlan(filename), [], 0
    for source, sheet, rows in sheets:
        found = _find_header(rows)
        if found is None:
            message = "无法识别表头：人员表需要 工号/用户名、姓名 两列，科室表需要 科室代码、科室名称、类别 三列"
            if sheet is None or sheet.strip().lower() in SHEET_NAMES:
                problems.append(Problem(message, file=source, code="header"))
            elif any(any(v for v in r) for _, r in rows):
                plan.warnings.append(Problem(f"已跳过工作表“{sheet}”：{message}", file=source, code="header"))
            continue
        kind, header_index, headers = found
        columns, sheet_problems = _map_columns(kind, headers, source, plan.warnings)
        if sheet_problems:
            problems += sheet_problems
            continue
        for line, values in rows[header_index + 1:]:
            cells = {f: _text(values[i]) if i < len(values) else "" for f, i in columns.items()}
            if not any(cells.values()):
                continue
            total += 1
            if total > MAX_ROWS:
                _fail(filename, f"数据超过 {MAX_ROWS} 行上限，请分批导入")
            row = _make_row(kind, cells, line, source, {f: headers[i] for f, i in columns.items()})
            (plan.departments if kind == DEPARTMENT else plan.staff).append(row)
    if not problems and not plan.rows:
        problems.append(Problem("文件中没有可导入的数据", file=filename, code="empty"))
    if problems:
        raise Invalid("无法导入该文件", problems)
    return plan


def _fail(filename: str, message: str):
    raise Invalid(message, [Problem(message, file=filename, code="file")])


def _read_xlsx(filename: str, data: bytes) -> list[tuple[str, str, list]]:
    import openpyxl
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unzipped = sum(i.file_size for i in z.infolist())
            if unzipped > MAX_UNZIPPED:
                _fail(filename, "Excel 文件解压后过大，请删除无关的工作表或另存为 CSV")
            if _shared_strings(z) > MAX_SHARED_STRINGS:
                _fail(filename, f"Excel 文件解压后过大（超过 {MAX_SHARED_STRINGS} 个不同的文字），请分批导入或另存为 CSV")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        _fail(filename, "无法读取该 Excel 文件，请确认是 .xlsx 格式")
    try:
        # read_only streams the sheets; data_only takes the values Excel saved, never the formulas.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return [(f"{filename}[{ws.title}]", ws.title, _sheet_rows(filename, ws)) for ws in book.worksheets]
        finally:
            book.close()
    except Invalid:
        raise
    except Exception:   # openpyxl raises many kinds of error on a damaged or foreign file
        _fail(filename, "无法读取该 Excel 文件，请确认是 .xlsx 格式")


def _shared_strings(z: zipfile.ZipFile) -> int:
    """How many entries the workbook's shared-string tables hold, counted while unpacking in chunks
    (stops counting past the limit)."""
    count = 0
    for info in z.infolist():
        if not info.filename.lower().endswith("sharedstrings.xml"):
            continue
        tail = b""
        with z.open(info) as member:
            while count <= MAX_SHARED_STRINGS:
                chunk = member.read(1 << 20)
                if not chunk:
                    break
                text = tail + chunk
                count += text.count(b"<si>") + text.count(b"<si ") - tail.count(b"<si>") - tail.count(b"<si ")
                tail = text[-3:]
    return count


def _sheet_rows(filename: str, ws) -> list:
    rows = []
    for line, values in enumerate(ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if line > MAX_ROWS + 100:
            _fail(filename, f"工作表“{ws.title}”超过 {MAX_ROWS} 行上限，请分批导入")
        rows.append((line, values))
    return rows


def _read_csv(filename: str, data: bytes) -> list:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")       # Excel's "Unicode text" export, tab-separated
    else:
        for encoding in ("utf-8-sig", "gb18030"):   # Chinese Excel saves CSV as GBK (a subset of GB18030)
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            _fail(filename, "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        return [(line, values) for line, values in
                enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)]
    except csv.Error as exc:
        _fail(filename, f"CSV 格式有误：{exc}")


def _header_key(text: str) -> str:
    text = re.split(r"[(（]", str(text or ""), maxsplit=1)[0]
    return re.sub(r"\s+", "", text).strip("*").lower()


_ALIASES = {kind: {_header_key(a): f for f, names in cols.items() for a in names} for kind, cols in COLUMNS.items()}


def _find_header(rows: list) -> tuple[str, int, list[str]] | None:
    """The kind of sheet and its header row: staff have a 工号/用户名 column, departments a 科室代码."""
    for index, (_line, values) in enumerate(rows[:HEADER_SEARCH]):
        keys = {_header_key(v) for v in values if v is not None}
        for kind, key in ((STAFF, "username"), (DEPARTMENT, "code")):
            if any(_ALIASES[kind].get(k) == key for k in keys):
                return kind, index, [_text(v) for v in values]
    return None


def _map_columns(kind, headers, source, warnings) -> tuple[dict[str, int], list[Problem]]:
    columns, problems = {}, []
    for i, header in enumerate(headers):
        if not header:
            continue
        f = _ALIASES[kind].get(_header_key(header))
        if f is None:
            warnings.append(Problem(f"已忽略未识别的列“{header}”", file=source, code="column"))
        elif f in columns:
            problems.append(Problem(f"列“{header}”与列“{headers[columns[f]]}”重复", file=source, code="header"))
        else:
            columns[f] = i
    problems += [Problem(f"缺少必填列“{COLUMNS[kind][f][0]}”", file=source, code="header")
                 for f in REQUIRED[kind] if f not in columns]
    return columns, problems


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):                  # a TRUE/FALSE cell
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)                       # 工号 typed as a number
    return str(value).strip()


# --- one row --------------------------------------------------------------------------------------

def _choice(table: dict, what: str):
    def convert(text: str):
        key = text.lower()
        if key not in table:
            raise ValueError(f"“{text}”不是有效的{what}")
        return table[key]
    return convert


def _identifier(text: str) -> str | None:
    if text and not IDENTIFIER.fullmatch(text):
        raise ValueError(f"“{text}”须为 1–64 位字母、数字或 . _ -")
    return text or None


def _limited(n: int):
    def convert(text: str) -> str | None:
        if len(text) > n:
            raise ValueError(f"不能超过 {n} 个字")
        return text or None
    return convert


def _email(text: str) -> str | None:
    if text and (len(text) > 255 or not EMAIL.fullmatch(text)):
        raise ValueError(f"“{text}”不是有效的邮箱地址")
    return text or None


CONVERTERS: dict[str, Callable[[str], object]] = {
    "code": _identifier, "name_zh": _limited(128), "name_en": _limited(128),
    "category": _choice(CATEGORIES, "类别（职能/临床/医技）"), "head": _identifier,
    "username": _identifier, "name": _limited(64), "department": _limited(128),
    "position_level": _choice(LEVELS, "职级（院领导/中层/其他）"), "party_member": _choice(PARTY, "党员标记（是/否）"),
    "public_employee": _choice(YES_NO, "公职人员标记（是/否）"),
    "roles": lambda t: list(dict.fromkeys(x for x in ROLE_SEPARATORS.split(t) if x)),
    "email": _email, "locale": _choice(LOCALES, "语言（zh/en）"), "password": lambda t: t or None,
}


def _make_row(kind: str, cells: dict, line: int, source: str, headers: dict) -> Row:
    row = Row(kind, {}, line, source, headers)
    for f, text in cells.items():
        try:
            value = CONVERTERS[f](text)
        except ValueError as exc:
            row.errors.append(row.problem(str(exc), f))
            continue
        if f == "password":
            row.password = value
        else:
            row.values[f] = value
    for f in REQUIRED[kind]:
        if not row.values.get(f) and not any(p.field == headers[f] for p in row.errors):
            row.errors.append(row.problem(f"请填写{headers[f]}", f))
    if row.password and row.values.get("username"):
        row.errors += [row.problem(p.message, "password")
                       for p in accounts.check_new_password(row.values["username"], row.password)]
    return row
