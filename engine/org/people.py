"""The hospital's organisation: departments (科室), staff and the roles they hold.

A `Principal` is the signed-in person as the rest of the system sees them: who, where, which roles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Conflict, Invalid, NotFound, Problem
from engine.db.schema import DEPARTMENT_CATEGORIES, POSITION_LEVELS, department, role, staff, staff_role

LOCALES = ("zh", "en")


@dataclass(frozen=True)
class Principal:
    username: str
    name: str
    department: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    locale: str = "zh"
    heads: frozenset[str] = field(default_factory=frozenset)   # departments this person is head of

    def has(self, *codes: str) -> bool:
        return any(c in self.roles for c in codes)


def principal_query(who) -> sa.CompoundSelect:
    """The rows a `Principal` is made of, for `who` (a parameter, or a scalar subquery giving a
    username): the person, their roles and the departments they head as rows of one UNION, as this
    runs at the start of every request. Build it once and execute it with its parameters."""
    return sa.union_all(
        sa.select(sa.literal_column("'staff'").label("kind"), staff.c.username.label("value"), staff.c.name,
                  staff.c.department, staff.c.locale).where(staff.c.username == who, staff.c.active),
        sa.select(sa.literal_column("'role'"), staff_role.c.role, sa.null(), sa.null(), sa.null())
        .where(staff_role.c.username == who),
        sa.select(sa.literal_column("'head'"), department.c.code, sa.null(), sa.null(), sa.null())
        .where(department.c.head == who))


def principal_from(rows) -> Principal | None:
    """The `Principal` from the rows of a `principal_query`; None when no active person matched."""
    person = next((r for r in rows if r.kind == "staff"), None)
    if person is None:
        return None
    roles = frozenset(r.value for r in rows if r.kind == "role")
    heads = frozenset(r.value for r in rows if r.kind == "head")
    return Principal(person.value, person.name, person.department, roles, person.locale, heads)


_PRINCIPAL = principal_query(sa.bindparam("who", type_=sa.String))


def principal(conn, username: str) -> Principal | None:
    """The active staff member `username`, or None."""
    return principal_from(conn.execute(_PRINCIPAL, {"who": username}).all())


def holders_of(conn, role_code: str, department_code: str | None = None) -> list[Principal]:
    """The active people with the role `role_code` — within `department_code` (its members and its
    head) when given — as `Principal`s, in department and name order."""
    q = (sa.select(staff.c.username, staff.c.name, staff.c.department, staff.c.locale)
         .join(staff_role, staff_role.c.username == staff.c.username)
         .where(staff_role.c.role == role_code, staff.c.active).order_by(staff.c.department, staff.c.username))
    if department_code is not None:
        head = sa.select(department.c.head).where(department.c.code == department_code).scalar_subquery()
        q = q.where(sa.or_(staff.c.department == department_code, staff.c.username == head))
    rows = conn.execute(q).all()
    names = [r.username for r in rows]
    roles: dict[str, set] = {}
    for r in conn.execute(sa.select(staff_role).where(staff_role.c.username.in_(names or ["-"]))):
        roles.setdefault(r.username, set()).add(r.role)
    heads: dict[str, set] = {}
    for r in conn.execute(sa.select(department.c.code, department.c.head).where(department.c.head.in_(names or ["-"]))):
        heads.setdefault(r.head, set()).add(r.code)
    return [Principal(r.username, r.name, r.department, frozenset(roles.get(r.username, ())), r.locale,
                      frozenset(heads.get(r.username, ()))) for r in rows]


# --- departments ----------------------------------------------------------------------------------

def check_department(values: dict) -> list[Problem]:
    problems = []
    if not (values.get("code") or "").strip():
        problems.append(Problem("请填写科室代码", field="code", code="required"))
    if not (values.get("name_zh") or "").strip():
        problems.append(Problem("请填写科室名称", field="name_zh", code="required"))
    if values.get("category") not in DEPARTMENT_CATEGORIES:
        problems.append(Problem("科室类别须为 职能/临床/医技 之一", field="category", code="choice"))
    return problems


def save_department(conn, values: dict, now: datetime) -> None:
    """Create or update a department. `head`, when given, must be an existing staff member."""
    problems = check_department(values)
    head = values.get("head") or None
    if head and conn.execute(sa.select(staff.c.username).where(staff.c.username == head)).first() is None:
        problems.append(Problem(f"科室负责人 {head} 不存在", field="head", code="unknown_staff"))
    if problems:
        raise Invalid("科室信息有误", problems)
    code = values["code"].strip()
    row = {"name_zh": values["name_zh"].strip(), "name_en": (values.get("name_en") or "").strip() or None,
           "category": values["category"], "head": head, "active": values.get("active", True)}
    clash = conn.execute(sa.select(department.c.code).where(department.c.name_zh == row["name_zh"],
                                                            department.c.code != code)).first()
    if clash:
        raise Conflict(f"科室名称“{row['name_zh']}”已被 {clash.code} 使用", field="name_zh")
    if conn.execute(sa.select(department.c.code).where(department.c.code == code)).first():
        conn.execute(department.update().where(department.c.code == code).values(**row))
    else:
        conn.execute(department.insert().values(code=code, created_at=now, **row))


def departments(conn, *, active_only: bool = True) -> list[dict]:
    q = sa.select(department).order_by(department.c.category, department.c.code)
    if active_only:
        q = q.where(department.c.active)
    return [dict(r._mapping) for r in conn.execute(q)]


def department_names(conn) -> dict[str, str]:
    return dict(conn.execute(_DEPARTMENT_NAMES).all())


_DEPARTMENT_NAMES = sa.select(department.c.code, department.c.name_zh)


# --- staff ----------------------------------------------------------------------------------------

def check_staff(conn, values: dict) -> list[Problem]:
    problems = []
    username = (values.get("username") or "").strip()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        problems.append(Problem("用户名须为 1–64 位字母、数字或 . _ -", field="username", code="invalid"))
    if not (values.get("name") or "").strip():
        problems.append(Problem("请填写姓名", field="name", code="required"))
    dept = values.get("department") or None
    if dept and conn.execute(sa.select(department.c.code).where(department.c.code == dept)).first() is None:
        problems.append(Problem(f"科室 {dept} 不存在", field="department", code="unknown_department"))
    if values.get("position_level", "other") not in POSITION_LEVELS:
        problems.append(Problem("职级须为 院领导、中层 或 其他", field="position_level", code="choice"))
    if values.get("locale", "zh") not in LOCALES:
        problems.append(Problem("语言须为 zh 或 en", field="locale", code="choice"))
    known = {c for (c,) in conn.execute(sa.select(role.c.code))}
    for code in values.get("roles") or ():
        if code not in known:
            problems.append(Problem(f"角色 {code} 不存在", field="roles", code="unknown_role"))
    return problems


def save_staff(conn, values: dict, now: datetime, *, password_hash: str | None = None,
               actor: str | None = None) -> None:
    """Create or update a staff member and replace their roles. The password is set elsewhere.

    Each change is an event of the administration log (by `actor`); a change of roles or a
    deactivation ends the person's sessions and revokes their API tokens."""
    from engine.org import admin_log, duties, sessions
    problems = check_staff(conn, values)
    if problems:
        raise Invalid("人员信息有误", problems)
    username = values["username"].strip()
    row = {"name": values["name"].strip(), "department": values.get("department") or None,
           "position_level": values.get("position_level", "other"),
           "party_member": bool(values.get("party_member")),
           "public_employee": bool(values.get("public_employee")), "email": (values.get("email") or None),
           "locale": values.get("locale", "zh"), "active": values.get("active", True)}
    before = conn.execute(sa.select(*(staff.c[k] for k in row)).where(staff.c.username == username)).one_or_none()
    if before is not None and "public_employee" not in values:
        row["public_employee"] = before.public_employee     # a caller that does not know the flag keeps it
    if before is not None:
        stamp = {"deactivated_by": actor} if before.active and not row["active"] else \
            {"deactivated_by": None} if row["active"] else {}
        conn.execute(staff.update().where(staff.c.username == username).values(**row, **stamp))
        changed = {k: [before._mapping[k], v] for k, v in row.items() if before._mapping[k] != v}
        if changed:
            admin_log.record(conn, now, "account_changed", actor=actor, data={"username": username, "changed": changed})
        if before.active and not row["active"]:
            sessions.end_all(conn, username)
    else:
        conn.execute(staff.insert().values(username=username, created_at=now, password_hash=password_hash, **row))
        admin_log.record(conn, now, "account_created", actor=actor, data={"username": username, **row})
    if "roles" in values:
        old = sorted(r for (r,) in conn.execute(sa.select(staff_role.c.role).where(staff_role.c.username == username)))
        codes = sorted(set(values["roles"] or ()))
        if codes != old:
            duties.check_roles_change(conn, actor, username, old, codes)
            conn.execute(staff_role.delete().where(staff_role.c.username == username))
            if codes:
                conn.execute(staff_role.insert(), [{"username": username, "role": c} for c in codes])
            admin_log.record(conn, now, "roles_changed", actor=actor,
                             data={"username": username, "before": old, "after": codes})
            if before is not None:
                sessions.end_all(conn, username)


def get_staff(conn, username: str) -> dict:
    row = conn.execute(sa.select(staff).where(staff.c.username == username)).one_or_none()
    if row is None:
        raise NotFound(f"人员 {username} 不存在", field="username")
    d = dict(row._mapping)
    d.pop("password_hash")
    d["roles"] = sorted(r for (r,) in conn.execute(sa.select(staff_role.c.role)
                                                  .where(staff_role.c.username == username)))
    return d


def staff_names(conn, usernames) -> dict[str, str]:
    """Display names of these usernames (a page's assignees), in one query."""
    usernames = sorted({u for u in usernames if u})
    if not usernames:
        return {}
    return dict(conn.execute(sa.select(staff.c.username, staff.c.name).where(staff.c.username.in_(usernames))).all())


def list_staff(conn, *, department_code: str | None = None, search: str | None = None,
               active_only: bool = True, limit: int = 500) -> list[dict]:
    q = sa.select(staff.c.username, staff.c.name, staff.c.department, staff.c.position_level,
                  staff.c.party_member, staff.c.public_employee, staff.c.active, staff.c.email).order_by(staff.c.department, staff.c.username)
    if active_only:
        q = q.where(staff.c.active)
    if department_code:
        q = q.where(staff.c.department == department_code)
    if search:      # matched literally: a % or _ typed is that character, not a wildcard
        q = q.where(sa.or_(staff.c.username.contains(search, autoescape=True),
                           staff.c.name.contains(search, autoescape=True)))
    rows = [dict(r._mapping) for r in conn.execute(q.limit(limit))]
    roles: dict[str, list[str]] = {}
    for r in conn.execute(sa.select(staff_role).where(staff_role.c.username.in_([x["username"] for x in rows]))):
        roles.setdefault(r.username, []).append(r.role)
    for r in rows:
        r["roles"] = sorted(roles.get(r["username"], []))
    return rows


def role_names(conn, locale: str = "zh") -> dict[str, str]:
    column = role.c.name_zh if locale == "zh" else role.c.name_en
    return {r.code: r.name for r in conn.execute(sa.select(role.c.code, column.label("name")))}


# --- the directory: the whole staff list, read once for a page ------------------------------------

CHOICES = 500           # people offered in a page's choice list (as `list_staff` gave)


@dataclass(frozen=True)
class Directory:
    """Everyone on the staff list and every department, active or not (ordered as `list_staff` and
    `departments` order them): what a page needs to name people and places and offer them as choices."""
    staff: tuple[dict, ...]
    departments: tuple[dict, ...]

    @property
    def names(self) -> dict[str, str]:
        return {p["username"]: p["name"] for p in self.staff}

    @property
    def people(self) -> list[tuple[str, str]]:
        """Active staff as (username, name) choices."""
        return [(p["username"], p["name"]) for p in self.staff if p["active"]][:CHOICES]

    @property
    def department_names(self) -> dict[str, str]:
        return {d["code"]: d["name_zh"] for d in self.departments}

    @property
    def department_choices(self) -> list[tuple[str, str]]:
        """Active departments as (code, name) choices."""
        return [(d["code"], d["name_zh"]) for d in self.departments if d["active"]]


_DIRECTORY = sa.select(staff.c.username, staff.c.name, staff.c.department, staff.c.active) \
    .order_by(staff.c.department, staff.c.username)


def read_directory(conn) -> Directory:
    """The `Directory`, in the caller's transaction: two queries (staff, departments)."""
    return Directory(tuple(dict(r._mapping) for r in conn.execute(_DIRECTORY)),
                     tuple(departments(conn, active_only=False)))


def directory(eng) -> Directory:
    """The `Directory`, in a read transaction of its own."""
    with read_transaction(eng.db) as conn:
        return read_directory(conn)


# --- the administration pages' services: one transaction each --------------------------------------

def staff_page(eng, *, locale: str, department_code: str | None = None, search: str | None = None) -> dict:
    """The staff list (inactive people too), filtered, with department and role names."""
    with read_transaction(eng.db) as conn:
        return {"people": list_staff(conn, department_code=department_code, search=search, active_only=False),
                "departments": department_names(conn), "roles": role_names(conn, locale)}


def staff_form(eng, username: str | None, *, locale: str) -> dict:
    """What the staff form offers (departments, roles) and, for `username`, their record (NotFound)."""
    with read_transaction(eng.db) as conn:
        return {"values": get_staff(conn, username) if username else {}, "departments": departments(conn),
                "roles": role_names(conn, locale)}


def save_person(eng, values: dict, password: str | None = None, *, by: str | None = None,
                creating: bool = False) -> None:
    """Create (`creating`) or update a staff member, and set their password when one is given (a reset
    by `by`: the owner must choose a new one at next sign-in); `Invalid` else.

    Creating never touches an existing person: a taken username is a field error. Editing changes
    only what the form showed: a department the form could not offer (an inactive one) is kept."""
    from engine.org import accounts
    now = eng.clock.now()
    username = (values.get("username") or "").strip()
    with write_transaction(eng.db) as conn:
        before = conn.execute(sa.select(staff.c.department).where(staff.c.username == username)).one_or_none()
        if creating and before is not None:
            raise Invalid("用户名已被使用", [Problem(f"用户名 {username} 已被使用，请换一个；修改此人请到人员列表中编辑",
                                                   field="username", code="taken")])
        if not creating:
            if before is None:
                raise NotFound(f"人员 {username} 不存在", field="username")
            offered = {d["code"] for d in departments(conn)}
            if not values.get("department") and before.department and before.department not in offered:
                values = {**values, "department": before.department}
        save_staff(conn, values, now, actor=by)
        if password:
            accounts.set_password(conn, username, password, now, by=by)


def department_page(eng) -> dict:
    """Every department (inactive ones too) and every staff member's name (for the heads)."""
    with read_transaction(eng.db) as conn:
        return {"departments": departments(conn, active_only=False),
                "people": {r.username: r.name for r in conn.execute(_DIRECTORY)}}


def save_department_for(eng, values: dict) -> None:
    """Create or update a department in a transaction of its own; `Invalid` or `Conflict` else."""
    with write_transaction(eng.db) as conn:
        save_department(conn, values, eng.clock.now())


# --- the pages' choice lists and the signed-in person ----------------------------------------------

def choices(engine) -> dict[str, list[tuple[str, str]]]:
    """The active staff and departments as (code, name) pairs, for a form's person and department
    fields: the `Directory`'s choice lists, in one read."""
    d = directory(engine)
    return {"person_choices": d.people, "department_choices": d.department_choices}

def signed_in(engine, username: str) -> Principal | None:
    """The active staff member `username` (who a request's session names), or None."""
    with read_transaction(engine.db) as conn:
        return principal(conn, username)


def set_locale(engine, username: str, locale: str) -> None:
    """A person's language for the pages (one of the web's locales; the caller checks which)."""
    with write_transaction(engine.db) as conn:
        conn.execute(staff.update().where(staff.c.username == username).values(locale=locale))


def department_choices(engine) -> list[tuple[str, str]]:
    """The active departments as (code, name) pairs, for a form's department field."""
    return directory(engine).department_choices
