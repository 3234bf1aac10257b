"""The inbox's lists: one person's tasks by view (mine, claimable, due soon, overdue, done,
department), filtered, sorted and paged, and how many each list holds.

Which tasks reach a person is `engine.permissions`' rule; the statements here are that rule in SQL.
Saved filters are `saved_filters`', handing a task over is `handover`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from urllib.parse import urlencode

import sqlalchemy as sa

from engine.db.transactions import read_transaction
from engine.errors import Invalid, Problem
from engine.inbox import saved_filters
from engine.org import people as org
from engine.org.people import Principal
from engine.runtime import recusal
from engine.db.schema import TASK_OPEN, human_task, process_instance, process_version
# web/audit.py still asks this module; the rule itself is engine.permissions'

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


def _candidate_branches(p: Principal) -> list:
    """The unclaimed open tasks `p` may take up: for one of their roles, in no department or in one of
    theirs; or, for a task in no lane, as its instance's starter (`candidate_user`). Each branch is
    one look-up of an index (TASK_OPEN repeated; the department in the look-up, so a role's open
    tasks across 200 departments are not read to keep one department's)."""
    starter = sa.and_(TASK_OPEN, human_task.c.assignee.is_(None), human_task.c.candidate_user == _USER,
                      human_task.c.candidate_role.is_(None))
    if not p.roles:
        return [starter]
    by_role = (TASK_OPEN, human_task.c.assignee.is_(None), human_task.c.candidate_role.in_(_ROLES))
    return [sa.and_(*by_role, human_task.c.candidate_department.is_(None)),
            sa.and_(*by_role, human_task.c.candidate_department.in_(_DEPTS)), starter]


def _candidate_clause(p: Principal):
    return sa.or_(*_candidate_branches(p))


def _view_condition(p: Principal, view: str):
    """`_list_condition`, without the instances `p` is recused from (回避: not listed, not counted)."""
    return sa.and_(_list_condition(p, view), _NOT_RECUSED)


def _list_condition(p: Principal, view: str):
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


_NOT_RECUSED = recusal.not_excluded(human_task.c.instance_id, _USER, _ROLES)

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
        columns = [sa.func.coalesce(sa.func.sum(sa.case((_list_condition(p, v), 1), else_=0)), 0).label(v)
                   for v in _count_views(p)]
        # only the rows some list can hold: the indexes find them, instead of a scan of every open task
        statement = _COUNTS[shape] = sa.select(*columns).select_from(human_task).where(_count_condition(p))
    row = conn.execute(statement, _values(p, now, soon_until)).one()
    return {v: int(getattr(row, v)) for v in _count_views(p)}


_COUNTS: dict[tuple, sa.Select] = {}    # (has roles, heads departments) -> the counts statement


def _count_views(p: Principal) -> list[str]:
    return [v for v in VIEWS if v != "done" and (v != "department" or p.heads)]


def _count_condition(p: Principal):
    """The open tasks some list of `p` can hold, each branch by its own index look-up (TASK_OPEN
    repeated: see _list_condition); the departments a head watches by the open tasks' index, which
    leads with the department."""
    scope = [human_task.c.assignee == _USER, *_candidate_branches(p)]
    if p.heads:
        scope.append(human_task.c.candidate_department.in_(_HEADS))
    return sa.and_(TASK_OPEN, sa.or_(*(sa.and_(TASK_OPEN, s) for s in scope)), _NOT_RECUSED)


def processes_in_tasks(conn) -> list[tuple[str, str]]:
    """(process key, name) pairs of the deployed processes, for the filter menu."""
    return [(k, n or k) for k, n in conn.execute(_PROCESSES).all()]


_PROCESSES = sa.select(process_version.c.process_key, sa.func.max(process_version.c.name)) \
    .group_by(process_version.c.process_key).order_by(process_version.c.process_key)


# --- the read models -------------------------------------------------------------------------------

def soon_until(engine) -> datetime:
    """'Due soon' means within the next two working days."""
    return engine.deadlines.calendar().add_working_days(engine.clock.now(), 2).due


def navigation_counts(engine, p: Principal) -> dict[str, int]:
    """`counts`, in a read of its own (the navigation of every page)."""
    with read_transaction(engine.db) as conn:
        return counts(conn, p, now=engine.clock.now(), soon_until=soon_until(engine))


def page_of(engine, p: Principal, query: TaskQuery) -> Page:
    """One page of one list, in a read of its own (the API's inbox)."""
    with read_transaction(engine.db) as conn:
        return list_tasks(conn, p, query, now=engine.clock.now(), soon_until=soon_until(engine))


@dataclass(frozen=True)
class InboxPage:
    """What the inbox page shows: one page of one list, every list's count, and the filters' menus."""
    query: TaskQuery                # as asked, or the default list instead of one the person may not see
    page: Page
    counts: dict[str, int]
    processes: list[tuple[str, str]]
    departments: dict[str, str]
    saved: list[dict]
    people: dict[str, str]          # the page's assignees' names


def page(engine, p: Principal, query: TaskQuery, *, default: bool = False) -> InboxPage:
    """The inbox page in one read; the department list only for someone who heads a department.
    `default`: the person asked for no list in particular — then, when nothing is claimed by them yet
    but tasks wait for them to take up, those are the list they see first (not an empty page)."""
    if query.view == "department" and not p.heads:
        query = TaskQuery()
    now, soon = engine.clock.now(), soon_until(engine)
    with read_transaction(engine.db) as conn:
        found = counts(conn, p, now=now, soon_until=soon)
        if default and query.view == "mine" and not found["mine"] and found["claimable"]:
            query = replace(query, view="claimable")
        rows = list_tasks(conn, p, query, now=now, soon_until=soon, total=found.get(query.view))
        return InboxPage(query, rows, found, processes_in_tasks(conn), org.department_names(conn),
                         saved_filters.saved_filters(conn, p.username),
                         org.staff_names(conn, (t["assignee"] for t in rows.rows)))
