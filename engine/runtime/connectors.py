"""What a diagram may ask of the engine beyond scripts: service-task operators and completion guards.

A service task names an operator (`spiffworkflow:serviceTaskOperator id="start_instances"`); a user
task may name a completion guard (property `completionGuard`). Both are Python functions registered
here by name — a fixed list written by us, never code from an uploaded diagram — and both run inside
the transaction of the operation that reached them, so what they do commits or rolls back with it.

    def record_event(ctx: ServiceContext, type: str, data: dict | None = None): ...
    def phase_done(ctx: GuardContext) -> None: ...   # raise Invalid to refuse the completion

    registry = builtin()                      # the engine's own: start_instances, record_event, children_done
    registry.add_service("record_event", record_event)
    registry.add_guard("campaign_phase_done", phase_done)

An engine receives its `Connectors` (see `Engine(connectors=...)`); the composition root
(`engine/bootstrap.py`) adds the domains' operators, so the core itself knows no domain.
"""
from __future__ import annotations

import contextvars
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from engine.errors import Invalid, Problem
from engine.runtime import collective

EVENT_TYPES = frozenset({"phase_changed", "milestone"})   # what `record_event` may write
MAX_CHILDREN = 2000                                       # per operation: a runaway loop stops here


class Connectors:
    """The service operators and completion guards one engine provides, by the names BPMN uses."""

    def __init__(self) -> None:
        self.services: dict[str, Callable] = {}
        self.guards: dict[str, Callable] = {}
        self.options: dict[str, Callable] = {}     # name -> fn(conn) -> [(value, title)]: a select's choices
        # Case views: what a task page's case panel may show beside the process data, by name
        # (property `caseView`): `fn(conn, engine, viewer, value)` returns a read model, or None.
        self.views: dict[str, Callable] = {}
        # The official documents (公文) a step may declare (property `document`), by name; None: the
        # engine was opened without the documents room, and the property is not checked.
        self.documents: Callable[[], frozenset[str]] | None = None

    def set_documents(self, names: Callable[[], frozenset[str]]) -> None:
        self.documents = names

    def add_service(self, name: str, fn: Callable) -> None:
        self.services[name] = fn

    def add_guard(self, name: str, fn: Callable) -> None:
        self.guards[name] = fn

    def add_options(self, name: str, fn: Callable) -> None:
        """Choices a form's select names with `optionsFrom` (e.g. the running campaigns' focus areas):
        `fn(conn)` gives (value, title) pairs, read when the form is shown and when it is checked."""
        self.options[name] = fn

    def add_view(self, name: str, fn: Callable) -> None:
        self.views[name] = fn

    def call_service(self, name: str, params: dict, task):
        """Run operator `name` for the current operation, on behalf of the Spiff `task`; its JSON-able
        result, or `Invalid`."""
        fn = self.services.get(name)
        if fn is None:
            raise Invalid([Problem(f'未知的服务操作 "{name}"', field="serviceTaskOperator", code="unknown_service")])
        ctx = ServiceContext(current(), copy.deepcopy(task.data), str(task.id), task.task_spec.bpmn_id)
        return fn(ctx, **params)

    def run_guard(self, name: str, ctx: "GuardContext") -> None:
        fn = self.guards.get(name)
        if fn is None:
            raise Invalid([Problem(f'未知的完成条件 "{name}"', field="completionGuard", code="unknown_guard")])
        fn(ctx)


def builtin() -> Connectors:
    """A registry holding the engine's own operators and guards (no domain's)."""
    registry = Connectors()
    registry.add_service("start_instances", start_instances)
    registry.add_service("record_event", record_event)
    registry.add_guard("children_done", children_done)
    registry.add_guard(collective.NAME, collective.collective_decision)
    return registry


@dataclass
class ChildStart:
    id: str
    process_key: str
    data: dict
    business_key: str | None


@dataclass
class Operation:
    """The engine operation under way: what services see and what they leave for the engine to do."""

    conn: Any
    now: datetime
    actor: str
    instance_id: str
    process_key: str
    business_key: str | None
    new_id: Callable[[], str]
    events: list = field(default_factory=list)          # history.NewEvent to append to the instance
    children: list[ChildStart] = field(default_factory=list)


_current: contextvars.ContextVar[Operation | None] = contextvars.ContextVar("qinglian_operation", default=None)


def begin(op: Operation):
    return _current.set(op)


def end(token) -> None:
    _current.reset(token)


def current() -> Operation:
    op = _current.get()
    if op is None:
        raise RuntimeError("a service task ran outside an engine operation")
    return op


@dataclass
class ServiceContext:
    op: Operation
    data: dict
    task_id: str | None = None        # the service task running (events it writes name it)
    element_id: str | None = None

    conn = property(lambda self: self.op.conn)
    now = property(lambda self: self.op.now)
    actor = property(lambda self: self.op.actor)
    instance_id = property(lambda self: self.op.instance_id)
    process_key = property(lambda self: self.op.process_key)
    business_key = property(lambda self: self.op.business_key)

    def event(self, type_: str, data: dict | None = None) -> None:
        from engine.history import NewEvent
        self.op.events.append(NewEvent(type_, task_id=self.task_id, element_id=self.element_id,
                                       data=dict(data or {})))

    def start(self, process_key: str, data: dict | None = None, business_key: str | None = None) -> str:
        """A child instance, started in this transaction once this instance is written."""
        if len(self.op.children) >= MAX_CHILDREN:
            raise Invalid([Problem(f"一次操作最多启动 {MAX_CHILDREN} 个子流程", field="items", code="too_many")])
        if not isinstance(process_key, str) or not process_key:
            raise Invalid([Problem("子流程的流程标识必须是文本", field="process_key", code="bad_parameter")])
        child = ChildStart(self.op.new_id(), process_key, dict(data or {}), business_key)
        child.data["parent_instance_id"] = self.op.instance_id
        self.op.children.append(child)
        return child.id


@dataclass
class GuardContext:
    conn: Any
    now: datetime
    user: str
    instance_id: str
    process_key: str
    business_key: str | None
    element_id: str
    properties: dict
    data: dict
    submitted: dict


def staff_name(username: str) -> str:
    """The name of a staff member, or the username itself when there is no such person or no
    operation under way (a helper for task subjects)."""
    import sqlalchemy as sa
    from engine.db.schema import staff
    op = _current.get()
    if op is None:
        return username
    name = op.conn.execute(sa.select(staff.c.name).where(staff.c.username == username)).scalar_one_or_none()
    return name or username


# -- built-in operators ---------------------------------------------------------------------------
def start_instances(ctx: ServiceContext, process_key: str, items: list, data: dict | None = None) -> list[str]:
    """One child instance of `process_key` per item: data `{**data, **item}`, business key from the
    item's `business_key` or else this instance's."""
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, dict) for i in items):
        raise Invalid([Problem("items 必须是由字典组成的列表", field="items", code="bad_parameter")])
    if data is not None and not isinstance(data, dict):
        raise Invalid([Problem("data 必须是字典", field="data", code="bad_parameter")])
    started = []
    for item in items:
        item = dict(item)
        key = item.pop("business_key", None) or ctx.business_key
        started.append(ctx.start(process_key, {**(data or {}), **item}, business_key=key))
    return started


def record_event(ctx: ServiceContext, type: str, data: dict | None = None) -> bool:  # noqa: A002 - BPMN name
    if type not in EVENT_TYPES:
        raise Invalid([Problem(f'不能记录 "{type}" 类型的事件（可用：{"、".join(sorted(EVENT_TYPES))}）',
                               field="type", code="bad_parameter")])
    ctx.event(type, data)
    return True


def children_done(ctx: GuardContext) -> None:
    """Refuse while an instance this one started is still running. The task's `childProcess`
    property narrows it to one process (e.g. the department work of a phase)."""
    import sqlalchemy as sa
    from engine.db.schema import process_instance as pi
    query = (sa.select(pi.c.business_key, pi.c.id).where(pi.c.parent_id == ctx.instance_id,
                                                          pi.c.status.notin_(("completed", "cancelled")))
             .order_by(pi.c.business_key, pi.c.id))
    child_process = (ctx.properties.get("childProcess") or "").strip()
    if child_process:
        query = query.where(pi.c.process_key == child_process)
    open_rows = ctx.conn.execute(query).all()
    if open_rows:
        names = "、".join(r.business_key or r.id[:8] for r in open_rows[:10])
        more = f" 等 {len(open_rows)} 项" if len(open_rows) > 10 else ""
        raise Invalid([Problem(f"还有 {len(open_rows)} 项下发的工作未完成：{names}{more}", code="children_open")])
