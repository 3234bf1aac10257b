"""Who may see and act on a human task, and the inbox's lists.

A task reaches a person when it is assigned to them, or when it is unassigned and they hold the
lane's role (and, where the lane names a department, belong to it or head it). A department head
sees and may reassign every open task of their department.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from datetime import datetime
from urllib.parse import urlencode

import sqlalchemy as sa

from engine.errors import Forbidden, Invalid, Problem, TaskAlreadyCompleted, TaskClaimedByOther, TaskNotReady
from engine.org.people import Principal, principal
from engine.db.schema import TASK_OPEN, human_task, process_instance, process_version, saved_filter

VIEWS = ("mine", "claimable", "due_soon", "overdue", "done", "department")
SORTS = {
    "due": (human_task.c.due_at.is_(None), human_task.c.due_at, human_task.c.priority),
    "-due": (human_task.c.due_at.is_(None), human_task.c.due_at.desc(), human_task.c.priority),
    "priority": (human_task.c.priority, human_task.c.due_at.is_(None), human_task.c.due_at),
    "created": (human_task.c.created_at,),
    "-created": (human_task.c.created_at.desc(),),
    "process": (human_task.c.process_key, human_task.c.created_at),
}
PER_PAGE = (10, 20, 50, 100)


# --- rules on one task -----------------------------------------------------------------------------

def is_candidate(p: Principal, task: dict) -> bool:
    if not task.get("candidate_role") or task["candidate_role"] not in p.roles:
        return False
    dept = task.get("candidate_department")
    return dept is None or dept == p.department or dept in p.heads


def can_view(p: Principal, task: dict) -> bool:
    if task.get("confidential"):     # a confidential process: its holder and the roles it names only
        return (task.get("assignee") == p.username or task.get("completed_by") == p.username
                or p.has(*task["confidential"].split(",")))
    return (task.get("assignee") == p.username or task.get("completed_by") == p.username
            or is_candidate(p, task) or task.get("candidate_department") in p.heads
            or p.has("auditor", "admin", "discipline_office"))


def can_work(p: Principal, task: dict) -> bool:
    """May claim or complete it now."""
    if task.get("status") != "open":
        return False
    return task.get("assignee") == p.username or (task.get("assignee") is None and is_candidate(p, task))


def can_reassign(p: Principal, task: dict) -> bool:
    return task.get("status") == "open" and (task.get("candidate_department") in p.heads or p.has("admin"))


def can_delegate(p: Principal, task: dict) -> bool:
    """Only the holder hands an open task on (a department head reassigns instead)."""
    return task.get("status") == "open" and task.get("assignee") == p.username


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


def require_work(p: Principal, task: dict) -> None:
    """`can_work`, saying why not: a task no longer open, or held by a colleague, is a conflict
    (the state changed under the caller); a task outside the person's duties is forbidden."""
    if task.get("status") == "completed":
        raise TaskAlreadyCompleted("此任务已经完成", completed_by=task.get("completed_by"))
    if task.get("status") != "open":
        raise TaskNotReady("此任务已不在办理中")
    if task.get("assignee") not in (None, p.username) and is_candidate(p, task):
        raise TaskClaimedByOther("此任务已由他人认领", assignee=task["assignee"])
    require(can_work(p, task), "此任务不在你的职责范围内")


def can_view_instance(conn, p: Principal, instance_id: str) -> bool:
    """Auditors, the discipline office and admins see every instance; others the ones they started
    or hold a task of that they may view. A confidential process (e.g. a voluntary disclosure) is
    seen only by its starter and the roles it names."""
    row = conn.execute(sa.select(process_instance.c.started_by, process_version.c.meta_json)
                       .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                       .where(process_instance.c.id == instance_id)).one_or_none()
    if row is None:
        return False
    if row.started_by == p.username:
        return True
    confidential = json.loads(row.meta_json).get("process", {}).get("confidential")
    if confidential is not None:     # a confidential process: only its starter and the roles it names
        return p.has(*confidential)
    if p.has("auditor", "admin", "discipline_office"):
        return True
    rows = conn.execute(sa.select(human_task).where(human_task.c.instance_id == instance_id)).all()
    return any(can_view(p, dict(r._mapping)) for r in rows)


def handover_target(conn, p: Principal, to: str, reason: str) -> Principal:
    """The active colleague a task is handed to (delegated or reassigned), with a reason; `Invalid`
    naming each field at fault otherwise."""
    to, reason = (to or "").strip(), (reason or "").strip()
    target = principal(conn, to) if to else None
    problems = []
    if target is None:
        problems.append(Problem("请选择在职的同事", field="to", code="unknown_staff"))
    elif target.username == p.username:
        problems.append(Problem("不能转交给自己", field="to", code="self"))
    if not reason:
        problems.append(Problem("请填写原因", field="reason", code="required"))
    if problems:
        raise Invalid("转交信息有误", problems)
    return target


def hand_over(eng, p: Principal, task: dict, kind: str, to: str, reason: str) -> tuple[Principal, dict]:
    """Delegate (by the holder) or reassign (by the department head) a task, with a reason.
    Returns the colleague and the task as it stands after."""
    from engine.db.transactions import read_transaction
    with read_transaction(eng.db) as conn:
        target = handover_target(conn, p, to, reason)
    if kind == "delegate":
        require(can_delegate(p, task), "只能转交自己已认领的任务")
        act = eng.delegate
    else:
        require(can_reassign(p, task), "只有本科室负责人可以改派")
        act = eng.reassign
    return target, act(task["id"], user=p.username, to=target.username, reason=reason.strip())


# --- the lists -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskQuery:
    view: str = "mine"
    process: str | None = None
    priority: int | None = None
    department: str | None = None
    q: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 20

    @classmethod
    def parse(cls, args) -> "TaskQuery":
        """From request arguments (a mapping of strings); unknown or bad values raise `Invalid`."""
        problems, values = [], {}
        for f in fields(cls):
            raw = (args.get(f.name) or "").strip()
            if not raw:
                continue
            if f.name in ("priority", "page", "per_page"):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    problems.append(Problem(f"{f.name} 须为整数", field=f.name))
                    continue
                if not 0 <= values[f.name] <= 100_000:       # beyond any real page, and any database integer
                    problems.append(Problem(f"{f.name} 超出范围", field=f.name))
                    del values[f.name]
            elif "\x00" in raw:
                problems.append(Problem("含有不允许的字符", field=f.name))
            else:
                values[f.name] = raw[:100]
        query = cls(**values)
        if query.view not in VIEWS:
            problems.append(Problem(f"未知的列表 {query.view}", field="view"))
        if query.sort not in SORTS:
            problems.append(Problem(f"未知的排序 {query.sort}", field="sort"))
        if query.per_page not in PER_PAGE:
            problems.append(Problem(f"每页条数须为 {PER_PAGE} 之一", field="per_page"))
        if query.page < 1:
            problems.append(Problem("页码须大于 0", field="page"))
        if problems:
            raise Invalid("筛选条件有误", problems)
        return query

    @property
    def filters_set(self) -> tuple[bool, bool, bool, bool]:
        """Which of the filters (process, priority, department, search) narrow the list."""
        return bool(self.process), self.priority is not None, bool(self.department), bool(self.q)

    def to_args(self, **changes) -> str:
        """The query string for this query (with changes), omitting defaults."""
        q = replace(self, **changes)
        default = TaskQuery()
        return urlencode({f.name: getattr(q, f.name) for f in fields(q)
                          if getattr(q, f.name) not in (None, "") and getattr(q, f.name) != getattr(default, f.name)})


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# The lists' conditions take the person and the moment as parameters (`_values`), so that the
# navigation's counts, asked on every page, are one statement built once per shape of person.
_USER, _NOW, _SOON = sa.bindparam("w_user"), sa.bindparam("w_now"), sa.bindparam("w_soon")
_ROLES, _DEPTS, _HEADS = (sa.bindparam(n, expanding=True) for n in ("w_roles", "w_depts", "w_heads"))


def _values(p: Principal, now: datetime, soon_until: datetime) -> dict:
    return {"w_user": p.username, "w_roles": sorted(p.roles), "w_now": now, "w_soon": soon_until,
            "w_depts": sorted(d for d in {p.department, *p.heads} if d), "w_heads": sorted(p.heads) or [""]}


def _candidate_clause(p: Principal):
    if not p.roles:
        return sa.false()
    return sa.and_(human_task.c.assignee.is_(None), human_task.c.candidate_role.in_(_ROLES),
                   sa.or_(human_task.c.candidate_department.is_(None), human_task.c.candidate_department.in_(_DEPTS)))


def _view_condition(p: Principal, view: str):
    # every branch of an OR repeats TASK_OPEN: each then finds its rows by a partial index
    is_open = TASK_OPEN
    mine = human_task.c.assignee == _USER
    reachable = sa.or_(sa.and_(is_open, mine), sa.and_(is_open, _candidate_clause(p)))
    if view == "mine":
        return sa.and_(is_open, mine)
    if view == "claimable":
        return sa.and_(is_open, _candidate_clause(p))
    if view == "due_soon":
        return sa.and_(is_open, reachable, human_task.c.due_at >= _NOW, human_task.c.due_at <= _SOON)
    if view == "overdue":
        return sa.and_(is_open, reachable, human_task.c.due_at < _NOW)
    if view == "done":
        return human_task.c.completed_by == _USER
    if view == "department":
        return sa.and_(is_open, human_task.c.candidate_department.in_(_HEADS))
    raise ValueError(view)


_PROCESS, _PRIORITY, _DEPARTMENT, _LIKE = (sa.bindparam(n) for n in ("w_process", "w_priority", "w_department",
                                                                       "w_like"))
_LIMIT, _OFFSET = sa.bindparam("w_limit", type_=sa.Integer), sa.bindparam("w_offset", type_=sa.Integer)


def _filters(query: TaskQuery):
    clauses = []
    if query.process:
        clauses.append(human_task.c.process_key == _PROCESS)
    if query.priority is not None:
        clauses.append(human_task.c.priority == _PRIORITY)
    if query.department:
        clauses.append(human_task.c.candidate_department == _DEPARTMENT)
    if query.q:
        clauses.append(sa.or_(*(column.like(_LIKE, escape="\\") for column in (
            human_task.c.name, process_instance.c.business_key, process_version.c.name, human_task.c.process_key))))
    return clauses


def _filter_values(query: TaskQuery) -> dict:
    """The filters' parameters; the search text matched literally (its % and _ are not wildcards)."""
    like = None
    if query.q:
        like = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return {"w_process": query.process, "w_priority": query.priority, "w_department": query.department,
            "w_like": like}


_LIST_COLUMNS = (*human_task.c, process_instance.c.business_key, process_version.c.name.label("process_name"),
                 process_version.c.version.label("process_version"))
_JOINED = human_task.join(process_instance, process_instance.c.id == human_task.c.instance_id).join(
    process_version, process_version.c.id == process_instance.c.process_version_id)


def list_statements(p: Principal, query: TaskQuery) -> tuple[sa.Select, sa.Select]:
    """The statements counting a list and reading one page of it, built once per shape of person and
    query (which filters are set, not their values: those are parameters, with `_values` and
    `_filter_values`), as the inbox asks for them on every page."""
    shape = (bool(p.roles), bool(p.heads), query.view, query.sort, *query.filters_set)
    found = _LISTS.get(shape)
    if found is None:
        where = sa.and_(_view_condition(p, query.view), *_filters(query))
        sort = (*(SORTS[query.sort] if query.view != "done" else (human_task.c.completed_at.desc(),)),
                human_task.c.id)
        if query.q:     # the search reads the instance's and the process's names too
            count = sa.select(sa.func.count()).select_from(_JOINED).where(where)
            page = sa.select(*_LIST_COLUMNS).select_from(_JOINED).where(where).order_by(*sort) \
                .limit(_LIMIT).offset(_OFFSET)
        else:
            # Count and pick the page on the task table alone (every task has its instance and
            # version), then join only the page's rows: not the hundreds a role's list may hold.
            count = sa.select(sa.func.count()).select_from(human_task).where(where)
            ids = sa.select(human_task.c.id).where(where).order_by(*sort).limit(_LIMIT).offset(_OFFSET).subquery()
            page = sa.select(*_LIST_COLUMNS).select_from(_JOINED.join(ids, ids.c.id == human_task.c.id)) \
                .order_by(*sort)
        found = _LISTS[shape] = (count, page)
    return found


_LISTS: dict[tuple, tuple[sa.Select, sa.Select]] = {}


def list_tasks(conn, p: Principal, query: TaskQuery, *, now: datetime, soon_until: datetime,
               total: int | None = None) -> Page:
    """A page of one list. `total`: the list's size when the caller knows it already (the navigation's
    counts, for a list without filters), which saves counting it again."""
    count, page = list_statements(p, query)
    values = {**_values(p, now, soon_until), **_filter_values(query),
              "w_limit": query.per_page, "w_offset": (query.page - 1) * query.per_page}
    if total is None or any(query.filters_set):
        total = conn.execute(count, values).scalar_one()
    rows = conn.execute(page, values).all()
    return Page([dict(r._mapping) for r in rows], total, query.page, query.per_page)


def counts(conn, p: Principal, *, now: datetime, soon_until: datetime) -> dict[str, int]:
    """How many tasks each list holds (shown in the navigation). One query."""
    shape = (bool(p.roles), bool(p.heads))
    statement = _COUNTS.get(shape)
    if statement is None:
        columns = [sa.func.coalesce(sa.func.sum(sa.case((_view_condition(p, v), 1), else_=0)), 0).label(v)
                   for v in _count_views(p)]
        # only the rows some list can hold: the indexes find them, instead of a scan of every open task
        statement = _COUNTS[shape] = sa.select(*columns).select_from(human_task).where(_count_condition(p))
    row = conn.execute(statement, _values(p, now, soon_until)).one()
    return {v: int(getattr(row, v)) for v in _count_views(p)}


_COUNTS: dict[tuple, sa.Select] = {}    # (has roles, heads departments) -> the counts statement


def _count_views(p: Principal) -> list[str]:
    return [v for v in VIEWS if v != "done" and (v != "department" or p.heads)]


def _count_condition(p: Principal):
    """The open tasks some list of `p` can hold, each branch by its own index (TASK_OPEN repeated:
    see _view_condition); with departments to watch, a scan of the open tasks' index."""
    scope = [human_task.c.assignee == _USER, _candidate_clause(p)]
    if p.heads:
        scope.append(human_task.c.candidate_department.in_(_HEADS))
    return sa.and_(TASK_OPEN, sa.or_(*(sa.and_(TASK_OPEN, s) for s in scope)))


def processes_in_tasks(conn) -> list[tuple[str, str]]:
    """(process key, name) pairs of the deployed processes, for the filter menu."""
    return [(k, n or k) for k, n in conn.execute(_PROCESSES).all()]


_PROCESSES = sa.select(process_version.c.process_key, sa.func.max(process_version.c.name)) \
    .group_by(process_version.c.process_key).order_by(process_version.c.process_key)


# --- saved filters ---------------------------------------------------------------------------------

def save_filter(conn, username: str, name: str, query: TaskQuery, now: datetime) -> None:
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise Invalid("筛选名称须为 1–64 个字符", [Problem("筛选名称须为 1–64 个字符", field="name")])
    conn.execute(saved_filter.delete().where(saved_filter.c.username == username, saved_filter.c.name == name))
    conn.execute(saved_filter.insert().values(username=username, name=name, query=query.to_args(page=1),
                                              created_at=now))


def saved_filters(conn, username: str) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(_SAVED, {"username": username})]


_SAVED = sa.select(saved_filter.c.id, saved_filter.c.name, saved_filter.c.query) \
    .where(saved_filter.c.username == sa.bindparam("username", type_=sa.String)).order_by(saved_filter.c.name)


def delete_filter(conn, username: str, filter_id: int) -> None:
    conn.execute(saved_filter.delete().where(saved_filter.c.username == username, saved_filter.c.id == filter_id))


def can_start(p: Principal, info) -> bool:
    """May start an instance of the process from the start page (its `startableBy` roles)."""
    return bool(info.startable_by) and ("staff" in info.startable_by or p.has(*info.startable_by))
