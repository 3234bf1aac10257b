"""Importing the organisation from a spreadsheet: departments (科室) and staff (人员).

Three steps, so that a page can show what will happen before anything does: `spreadsheet.parse`
reads the file into an `ImportPlan` without touching the database; `preview` checks the plan against
the database and counts what would change; `apply` writes all of it in the caller's transaction, or
raises `Invalid` listing every row error and writes nothing.

The pages use these steps as a job kept in the `org_import` table, so that any worker of the web
server can confirm it and report on it: `stage` previews an upload and keeps the file for its
confirmation, `start` claims the job and runs it in a background thread of this process (an import
of 20,000 rows takes longer than a request may), `job` reads its state and progress.
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
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

from engine.org.spreadsheet import ImportPlan, Row, parse


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
          progress: Callable[[int, int], None] | None = None, *, actor: str | None = None) -> Preview:
    """Write the whole plan in the caller's transaction, or raise `Invalid` with every problem. Role
    changes are `actor`'s (`engine.org.duties`: privileged roles only by the security administrator).

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
            save_staff(conn, {**w.values, "username": w.key}, now, actor=actor)
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
                  staff.c.party_member, staff.c.public_employee, staff.c.email, staff.c.locale, staff.c.active, staff.c.password_hash))}
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
        values = {"department": None, "position_level": "other", "party_member": False, "public_employee": False, "email": None,
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
        row = conn.execute(sa.select(org_import.c.filename, org_import.c.content, org_import.c.owner)
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
            result = apply(conn, plan, eng.clock.now(), progress=None if is_sqlite(eng.db) else progress,
                           actor=row.owner)
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
