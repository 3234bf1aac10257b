"""退回 and 撤回 from the inbox's side: who may, and the earlier performer's previous submission kept
as their draft of the reopened task (the mechanics are the runtime's: engine.runtime.rewind)."""
from __future__ import annotations

from engine.errors import Conflict, Invalid, Problem
from engine.inbox import drafts
from engine.inbox.tasks import viewable
from engine.org.people import Principal
from engine.permissions import require, require_work
from engine.runtime.views import HumanTask

MAX_REASON = 2000


def _reason(reason: str | None, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise Invalid("请填写退回原因", [Problem("请填写退回原因", field="reason", code="required")])
    if len(reason) > MAX_REASON:
        raise Invalid("原因过长", [Problem(f"原因不能超过 {MAX_REASON} 字", field="reason", code="too_long")])
    return reason


def send_back(engine, p: Principal, task_id: str, reason: str | None, to: str | None = None):
    """退回: `p`, who may work the task, returns the instance to an earlier user task with a reason;
    the earlier performer finds the task in their inbox with their previous submission as a draft.
    Answers the instance as it stands after."""
    require_work(p, viewable(engine, p, task_id))
    reason = _reason(reason, required=True)
    now = engine.clock.now()

    def keep_previous(conn, target_id: str, performer: str | None, previous: dict) -> None:
        if performer and previous:
            drafts.save(conn, target_id, performer, previous, now)
    return engine.send_back(task_id, user=p.username, reason=reason, to=(to or "").strip() or None,
                            prepare=keep_previous)


def can_withdraw(p: Principal, task: HumanTask) -> bool:
    """Whether the page offers 撤回: `p` completed the task (the engine checks the rest)."""
    return task.status == "completed" and task.completed_by == p.username


def withdraw(engine, p: Principal, task_id: str, reason: str | None = None):
    """撤回: the performer of a completed task takes it back while the next step is untouched."""
    task = viewable(engine, p, task_id)
    if task.status == "open":
        raise Conflict("此任务尚未完成，无需撤回", code="not_completed")
    require(can_withdraw(p, task), "只能撤回自己已完成的任务")
    return engine.withdraw(task_id, user=p.username, reason=_reason(reason, required=False))


def targets_of(history: list[dict], task_id: str) -> dict | None:
    """The latest send-back that reopened `task_id` (an event of the instance's history), if any."""
    for e in history:          # latest first
        if e["type"] == "task_sent_back" and e["data"].get("target_task") == task_id:
            return e
        if e["type"] == "task_completed" and e.get("task_id") == task_id:
            return None
    return None
