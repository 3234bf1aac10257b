"""Importing the organisation from a spreadsheet: departments (科室) and staff (人员).

Three steps, so that a page can show what will happen before anything does: `parse` reads an .xlsx
or .csv file into an `ImportPlan` without touching the database; `preview` checks the plan against
the database and counts what would change; `apply` writes all of it in the caller's transaction, or
raises `Invalid` listing every row error and writes nothing. The file format: docs/org-import.md.

The pages use these steps as a job kept in the `org_import` table, so that any worker of the web
server can confirm it and report on it: `stage` previews an upload and keeps the file for its
confirmation, `start` claims the job and runs it in a background thread of this process (an import
of 20,000 rows takes longer than a request may), `job` reads its state and progress.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import re
import secrets
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from engine.org import accounts
from engine.errors import EngineError, Invalid, NotFound, Problem
from engine.org.people import save_department, save_staff
from engine.org.roles import role_resolver
from engine.db.schema import department, org_import, staff, staff_role
from engine.db.transactions import is_sqlite, read_transaction, write_transaction

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_UNZIPPED = 100 * 1024 * 1024   # an .xlsx is a zip: refuse a zip bomb before opening it
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
LEVELS = {"": "other", "中层": "middle_manager", "中层干部": "middle_manager", "其他": "other", "其它": "other",
          "普通": "other", "middle_manager": "middle_manager", "other": "other"}
PARTY = {**dict.fromkeys(("是", "y", "yes", "true", "1", "√", "✓", "党员", "中共党员", "中共预备党员",
                          "预备党员"), True),
         **dict.fromkeys(("", "否", "n", "no", "false", "0", "×", "群众", "非党员", "共青团员", "团员"), False)}
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


@dataclass
class Preview:
    """What `apply` would do (or did): counts per kind, and every problem that blocks the import."""
    departments_new: int = 0
    departments_updated: int = 0
    departments_unchanged: int = 0
    staff_new: int = 0
    staff_updated: int = 0
    staff_unchanged: int = 0
    passwords_set: int = 0           # new accounts given the file's initial password
    staff_without_password: int = 0  # new accounts that cannot log in until an administrator sets one
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if isinstance(v, int)}
        return {**d, "ok": self.ok, "problems": [p.to_dict() for p in self.problems],
                "warnings": [p.to_dict() for p in self.warnings]}


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
    except zipfile.BadZipFile:
        _fail(filename, "无法读取该 Excel 文件，请确认是 .xlsx 格式")
    if unzipped > MAX_UNZIPPED:
        _fail(filename, "Excel 文件解压后过大，请删除无关的工作表或另存为 CSV")
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
    "position_level": _choice(LEVELS, "职级（中层/其他）"), "party_member": _choice(PARTY, "党员标记（是/否）"),
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


# --- checking against the database, and writing --------------------------------------------------

@dataclass
class _Write:
    row: Row
    key: str
    values: dict
    action: str                    # new, updated, unchanged
    old: dict | None


def preview(conn, plan: ImportPlan) -> Preview:
    """Check the plan against the database; count what `apply` would create, update or leave."""
    return _check(conn, plan)[0]


def apply(conn, plan: ImportPlan, now: datetime,
          progress: Callable[[int, int], None] | None = None) -> Preview:
    """Write the whole plan in the caller's transaction, or raise `Invalid` with every problem.

    Departments first (without heads not yet on file), then staff, then the remaining heads:
    a department's head is a staff member and a staff member's department a department."""
    result, depts, people, passwords = _check(conn, plan)
    if result.problems:
        raise Invalid(f"导入文件有 {len(result.problems)} 处错误，未导入任何内容", result.problems)
    total, done = len(depts) + len(people), 0
    known_staff = {u for (u,) in conn.execute(sa.select(staff.c.username))}
    deferred = {}
    for w in depts:
        if w.action != "unchanged":
            head = w.values["head"]
            if head not in known_staff:
                deferred[w.key] = head
                head = w.old["head"] if w.old and w.old["head"] in known_staff else None
            save_department(conn, {**w.values, "code": w.key, "head": head}, now)
        done += 1
        if progress:
            progress(done, total)
    hashes: dict[str, str] = {}     # one argon2 hash per distinct initial password (~0.1 s each)
    for w in people:
        if w.action != "unchanged":
            save_staff(conn, {**w.values, "username": w.key}, now)
        if w.key in passwords:
            pw = passwords[w.key]
            hashes.setdefault(pw, accounts.hash_password(pw))
            conn.execute(staff.update().where(staff.c.username == w.key)
                         .values(password_hash=hashes[pw], password_changed_at=now))
        done += 1
        if progress:
            progress(done, total)
    for code, head in deferred.items():
        conn.execute(department.update().where(department.c.code == code).values(head=head))
    # Heads not listed in this file still need the role that lets them see their department's tasks.
    heads = {w.values["head"] for w in depts if w.values["head"]}
    holding = {u for (u,) in conn.execute(sa.select(staff_role.c.username)
                                          .where(staff_role.c.role == "department_head"))}
    if heads - holding:
        conn.execute(staff_role.insert(), [{"username": u, "role": "department_head"}
                                           for u in sorted(heads - holding)])
    return result


def _check(conn, plan: ImportPlan):
    result = Preview(problems=list(plan.errors), warnings=list(plan.warnings))
    db_depts = {r.code: dict(r._mapping) for r in conn.execute(
        sa.select(department.c.code, department.c.name_zh, department.c.name_en, department.c.category,
                  department.c.head, department.c.active))}
    db_staff = {r.username: dict(r._mapping) for r in conn.execute(
        sa.select(staff.c.username, staff.c.name, staff.c.department, staff.c.position_level,
                  staff.c.party_member, staff.c.email, staff.c.locale, staff.c.active, staff.c.password_hash))}
    db_roles: dict[str, set] = {}
    for r in conn.execute(sa.select(staff_role)):
        db_roles.setdefault(r.username, set()).add(r.role)
    file_depts = _unique(plan.departments, "code", "科室代码", result.problems)
    file_staff = _unique(plan.staff, "username", "用户名", result.problems)

    # Department names are unique: check the names as they will be after the import.
    names = {d["name_zh"]: code for code, d in db_depts.items() if code not in file_depts}
    seen_names: dict[str, Row] = {}
    for code, r in file_depts.items():
        name = r.values.get("name_zh")
        if not name:
            continue
        if name in seen_names:
            result.problems.append(r.problem(f"科室名称“{name}”与{seen_names[name].where()}重复", "name_zh"))
        elif name in names:
            result.problems.append(r.problem(f"科室名称“{name}”已被科室 {names[name]} 使用", "name_zh"))
        seen_names[name] = r
    names.update({r.values["name_zh"]: code for code, r in file_depts.items() if r.values.get("name_zh")})
    codes = set(db_depts) | set(file_depts)

    depts = []
    for code, r in file_depts.items():
        old = db_depts.get(code)
        values = {"name_zh": None, "name_en": None, "head": None, "active": True, **(old or {}), **r.values}
        values.pop("code")
        if values["head"] and values["head"] not in db_staff and values["head"] not in file_staff:
            result.problems.append(r.problem(f"负责人 {values['head']} 不在人员名单中（本文件和系统中都没有）", "head"))
        depts.append(_action(r, code, values, old, {k: v for k, v in (old or {}).items() if k != "code"}))
    heads = {d["head"] for c, d in db_depts.items() if c not in file_depts} | {w.values["head"] for w in depts}

    resolve_role = role_resolver(conn)
    people, passwords = [], {}
    for username, r in file_staff.items():
        old = db_staff.get(username)
        kept = {k: v for k, v in (old or {}).items() if k not in ("username", "password_hash")}
        values = {"department": None, "position_level": "other", "party_member": False, "email": None,
                  "locale": "zh", "active": True, **kept, **r.values}
        values.pop("username")
        dept = values["department"]
        if dept and dept not in codes:
            if dept in names:
                values["department"] = names[dept]
            else:
                result.problems.append(r.problem(f"科室“{dept}”不存在（本文件和系统中都没有）", "department"))
        roles = set(db_roles.get(username, ())) if "roles" not in r.values else set()
        for token in r.values.get("roles") or ():
            code = resolve_role(token)
            if code is None:
                result.problems.append(r.problem(f"角色“{token}”不存在", "roles"))
            roles.add(code)
        roles = {"staff", *roles} | ({"department_head"} if username in heads else set())
        values["roles"] = sorted(c for c in roles if c)
        old_values = old and {**kept, "roles": sorted(db_roles.get(username, ()))}
        people.append(_action(r, username, values, old, old_values))
        if r.password and (old is None or not old["password_hash"]):
            passwords[username] = r.password
        elif old is None:
            result.staff_without_password += 1
    ignored = sum(1 for u, r in file_staff.items() if r.password and u not in passwords)
    if ignored:
        result.warnings.append(Problem(f"{ignored} 名人员已有密码，其“初始密码”未使用", code="password"))
    result.passwords_set = len(passwords)
    result.problems.sort(key=lambda p: (p.file or "", p.line or 0))
    for kind, writes in (("departments", depts), ("staff", people)):
        for action in ("new", "updated", "unchanged"):
            setattr(result, f"{kind}_{action}", sum(1 for w in writes if w.action == action))
    return result, depts, people, passwords


def _unique(rows: list[Row], key: str, label: str, problems: list[Problem]) -> dict[str, Row]:
    """The rows by key (rows with errors too, so that all their problems are found at once);
    a key given twice is a problem on the second row."""
    found: dict[str, Row] = {}
    for r in rows:
        k = r.values.get(key)
        if not k:
            continue
        if k in found:
            problems.append(r.problem(f"{label} {k} 与{found[k].where()}重复", key))
        else:
            found[k] = r
    return found


def _action(row: Row, key: str, values: dict, old: dict | None, old_values: dict | None) -> _Write:
    if old is None:
        return _Write(row, key, values, "new", None)
    changed = any(values.get(k) != old_values.get(k) for k in values)
    return _Write(row, key, values, "updated" if changed else "unchanged", old)


# --- the import as a job any worker can report on -------------------------------------------------

PENDING_TTL = timedelta(minutes=30)      # a staged file waits this long for its confirmation
STALE = timedelta(minutes=10)            # a running job silent this long died with its worker
PROGRESS_EVERY = 0.02                    # progress is written each 2 % of the rows


@dataclass(frozen=True)
class Job:
    """An import between its preview and its end. `error` is None on a failure nobody explained
    (logged for the operator): the page then says that nothing was written."""
    token: str
    owner: str
    filename: str
    state: str                       # pending, running, done, failed
    done: int
    total: int
    result: dict | None
    error: str | None

    def status(self) -> dict:
        return {"state": self.state, "done": self.done, "total": self.total, "error": self.error,
                "result": self.result}


def stage(eng, owner: str, filename: str, data: bytes) -> tuple[Preview, str | None]:
    """Read and preview an upload; when it may be imported, keep it as a pending job of `owner`
    and return its token too. One transaction; file-level problems raise `Invalid`."""
    plan = parse(filename, data)
    now = eng.clock.now()
    with write_transaction(eng.db) as conn:
        result = preview(conn, plan)
        if not result.ok:
            return result, None
        conn.execute(org_import.delete().where(     # old jobs, and a dead worker's with its file
            org_import.c.created_at < now - PENDING_TTL,
            sa.or_(org_import.c.state != "running", org_import.c.updated_at < now - STALE)))
        token = secrets.token_urlsafe(16)
        conn.execute(org_import.insert().values(token=token, owner=owner, filename=filename[:255], content=data,
                                                state="pending", done=0, total=0, created_at=now, updated_at=now))
    return result, token


def job(eng, token: str, owner: str) -> Job:
    """The job `token` of `owner`, or `NotFound` (another administrator's job is not theirs to see)."""
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(org_import).where(org_import.c.token == token[:32],
                                                       org_import.c.owner == owner)).one_or_none()
    now = eng.clock.now()
    if row is None or (row.state == "pending" and now - row.created_at > PENDING_TTL):
        raise NotFound("没有这个导入任务", field="token")
    state, error = row.state, row.error
    if state == "running" and now - row.updated_at > STALE:
        state, error = "failed", None       # its worker stopped: the transaction was rolled back
    return Job(row.token, row.owner, row.filename, state, row.done, row.total,
               json.loads(row.result_json) if row.result_json else None, error)


def start(eng, token: str, owner: str, *, background: bool = True) -> Job:
    """Confirm a pending job: claim it (once, whichever worker is asked first) and run it in a
    thread of this process, or right here when `background` is false. Returns the job as it stands."""
    now = eng.clock.now()
    with write_transaction(eng.db) as conn:
        claimed = conn.execute(org_import.update().where(
            org_import.c.token == token[:32], org_import.c.owner == owner, org_import.c.state == "pending",
            org_import.c.created_at >= now - PENDING_TTL).values(state="running", updated_at=now)).rowcount
    if claimed:
        if background:
            threading.Thread(target=run, args=(eng, token), daemon=True, name=f"org-import-{token[:6]}").start()
        else:
            run(eng, token)
    return job(eng, token, owner)


def run(eng, token: str) -> None:
    """Run a claimed job to its end: all of it in one transaction, or nothing. Progress is written
    beside it on a database with concurrent writers; SQLite has one writer, there the job reports
    its end only."""
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(org_import.c.filename, org_import.c.content)
                           .where(org_import.c.token == token)).one()
    step = [0]

    def progress(done: int, total: int) -> None:
        if done < total and done - step[0] < max(1, int(total * PROGRESS_EVERY)):
            return
        step[0] = done
        with eng.db.begin() as c:
            c.execute(org_import.update().where(org_import.c.token == token)
                      .values(done=done, total=total, updated_at=eng.clock.now()))

    outcome: dict = {"content": None}
    try:
        plan = parse(row.filename, row.content)
        with write_transaction(eng.db) as conn:
            result = apply(conn, plan, eng.clock.now(), progress=None if is_sqlite(eng.db) else progress)
            total = len(plan.departments) + len(plan.staff)
            conn.execute(org_import.update().where(org_import.c.token == token).values(
                state="done", done=total, total=total, result_json=json.dumps(result.to_dict(), ensure_ascii=False),
                content=None, updated_at=eng.clock.now()))
        return
    except EngineError as exc:
        outcome.update(state="failed", error=exc.message)
    except Exception:                      # reported to the page, logged in full for the operator
        log.exception("organisation import failed")
        outcome.update(state="failed", error=None)
    with eng.db.begin() as conn:
        conn.execute(org_import.update().where(org_import.c.token == token)
                     .values(updated_at=eng.clock.now(), **outcome))
