"""One task and what a person does with it, each a service call that says who may: the task page's
read model, claiming and giving back, comments, attachments, and an instance's diagram.

Completing (and saving a draft) is `submission`'s; handing over is `handover`'s.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, NotFound, Problem
from engine.inbox import attachments, case_panel, comments, drafts, form_values
from engine.org import people as org
from engine.org.people import Principal
from engine.permissions import (can_delegate, can_reassign, can_view, can_view_instance, can_work, is_recused,
                                may_handle_clues, require, require_work)
from engine.runtime import diagram, elements, recusal
from engine.runtime.views import HumanTask

HISTORY = 20        # the task page shows the instance's latest events
# Files of a generated document addressed to the reporter (engine.documents.sealing): they carry the
# reporter's identity, so only the discipline office lists or downloads them.
REPORTER_FIELD = "document-reporter"


def _may_see_file(p: Principal, meta: dict) -> bool:
    return meta.get("field") != REPORTER_FIELD or may_handle_clues(p)


def viewable(engine, p: Principal, task_id: str) -> HumanTask:
    """The task, if `p` may see it: NotFound if there is none (or `p` is recused from its instance:
    回避 hides that the task exists), Forbidden if they may not."""
    task = engine.task(task_id)
    with read_transaction(engine.db) as conn:
        if is_recused(conn, p, task.instance_id):
            raise NotFound(f"task {task_id} not found", field="task_id")
    require(can_view(p, task), "你无权查看此任务")
    return task


@dataclass
class TaskPage:
    """What the task page shows."""
    task: HumanTask
    instance: object                # InstanceView
    definition: dict | None         # the form, as of the task's opening
    draft: tuple[dict, datetime] | None
    history: list[dict]             # latest first
    can_work: bool
    can_reassign: bool
    comments: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    people: list[dict] = field(default_factory=list)          # active staff, for person fields and handover
    departments: list[dict] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)       # every username's name, for the history
    department_names: dict[str, str] = field(default_factory=dict)
    values: dict = field(default_factory=dict)                # what the form shows (see `form_values`)
    targets: list = field(default_factory=list)               # whom `p` may hand it to (handover.Target)
    can_delegate: bool = False
    process_name: str | None = None                           # the process's name in its model
    case: object = None                                       # case_panel.CasePanel


def page(engine, p: Principal, task_id: str) -> TaskPage:
    task = viewable(engine, p, task_id)
    instance = engine.show(task.instance_id)
    definition = engine.forms.for_task(task, roles=p.roles)
    with read_transaction(engine.db) as conn:
        draft = drafts.load(conn, task_id, p.username)
        found = TaskPage(
            task, instance, definition, draft, [], can_work(p, task), can_reassign(p, task),
            comments=comments.for_instance(conn, task.instance_id),
            files=[f for f in attachments.for_instance(conn, task.instance_id) if _may_see_file(p, f)],
            people=[s for s in org.list_staff(conn) if not recusal.excluded_persons(conn, task.instance_id)
                    .excludes(s["username"])],
            departments=org.departments(conn),
            names={r["username"]: r["name"] for r in org.list_staff(conn, active_only=False)},
            department_names=org.department_names(conn))
        found.values = (form_values.submitted_values(conn, task) if task.status == "completed"
                        else form_values.starting_values(conn, engine, task, draft))
        found.can_delegate = can_delegate(p, task) and task.delegation != "pending"
        if found.can_delegate or found.can_reassign:
            from engine.inbox import handover       # (handover builds on this room's `viewable`)
            found.targets = handover.targets(conn, task, exclude=p.username)
        found.process_name = elements.process_name(conn, engine.registry, task.instance_id)
        found.case = case_panel.panel(conn, engine, p, task)
    found.history = list(reversed(engine.events(task.instance_id)[-HISTORY:]))
    return found


def claim(engine, p: Principal, task_id: str) -> HumanTask:
    task = viewable(engine, p, task_id)
    require(can_work(p, task), "此任务不在你的职责范围内")
    return engine.claim(task_id, user=p.username)


def claim_checked(engine, p: Principal, task_id: str) -> HumanTask:
    """`claim`, saying why not as the API does: a task no longer open or held by a colleague is a conflict."""
    require_work(p, viewable(engine, p, task_id))
    return engine.claim(task_id, user=p.username)


def unclaim(engine, p: Principal, task_id: str) -> HumanTask:
    viewable(engine, p, task_id)
    return engine.unclaim(task_id, user=p.username)


def comment(engine, p: Principal, task_id: str, body: str) -> dict:
    task = viewable(engine, p, task_id)
    with write_transaction(engine.db) as conn:
        return comments.add(conn, instance_id=task.instance_id, task_id=task_id, author=p.username,
                            body=body, now=engine.clock.now())


def comments_of(engine, p: Principal, task_id: str) -> list[dict]:
    """The comment thread of the task's instance."""
    task = viewable(engine, p, task_id)
    with read_transaction(engine.db) as conn:
        return comments.for_instance(conn, task.instance_id)


def attach(engine, p: Principal, task_id: str, filename: str | None, data: bytes) -> dict:
    """Attach a file to the task's instance (`Invalid` if there is none, or it is refused)."""
    task = viewable(engine, p, task_id)
    if not filename:
        raise Invalid("请选择文件", [Problem("请选择文件", field="file")])
    with write_transaction(engine.db) as conn:
        return attachments.store(conn, instance_id=task.instance_id, task_id=task_id, filename=filename,
                                 data=data, user=p.username, now=engine.clock.now())


def download(engine, p: Principal, attachment_id: int) -> tuple[dict, bytes]:
    """An attachment's metadata and content; NotFound also when `p` may not see its instance."""
    with read_transaction(engine.db) as conn:
        meta = attachments.meta(conn, attachment_id)
        if meta is None or not can_view_instance(conn, p, meta["instance_id"]) or not _may_see_file(p, meta):
            raise NotFound(f"附件 {attachment_id} 不存在", field="attachment_id")
        return attachments.content(conn, attachment_id)


def instance_diagram(engine, p: Principal, instance_id: str) -> dict:
    """The instance's diagram and state; NotFound also when `p` may not see it."""
    with read_transaction(engine.db) as conn:
        if not can_view_instance(conn, p, instance_id):
            raise NotFound(f"流程实例 {instance_id} 不存在", field="instance_id")
        return diagram.instance_diagram(conn, instance_id)


def detail(engine, p: Principal, task_id: str) -> dict:
    """The task with its form definition and what `p` may do with it (the API's answer)."""
    task = viewable(engine, p, task_id)
    return {**asdict(task), "form": engine.forms.for_task(task, roles=p.roles), "can_work": can_work(p, task),
            "can_reassign": can_reassign(p, task)}


def instance_of(engine, p: Principal, instance_id: str):
    """The instance (InstanceView), if `p` may see it: NotFound if there is none, Forbidden if they may not."""
    view = engine.show(instance_id)
    with read_transaction(engine.db) as conn:
        allowed = can_view_instance(conn, p, view.id)
    require(allowed, "你无权查看此流程实例")
    return view


def events_of(engine, p: Principal, instance_id: str) -> list[dict]:
    """An instance's history, oldest first, if `p` may see it."""
    return engine.events(instance_of(engine, p, instance_id).id)


def declare_conflict(engine, p: Principal, task_id: str, reason: str) -> dict:
    """自行回避: `p` declares a conflict of interest on a task they see, with a reason; from now on they
    are kept out of the instance, and the office reassigns the task."""
    viewable(engine, p, task_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请填写回避理由", [Problem("请填写回避理由", field="reason", code="required")])
    if len(reason) > 500:
        raise Invalid("回避理由过长", [Problem("回避理由不超过500字", field="reason", code="too_long")])
    return engine.declare_conflict(task_id, user=p.username, reason=reason)
