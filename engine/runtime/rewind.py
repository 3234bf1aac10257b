"""Going back to an earlier user task: 退回 (send back) and 撤回 (withdraw).

Both are SpiffWorkflow's reset-to-task (`BpmnWorkflow.reset_from_task_id`) made safe for the
engine's persistence: the tasks after the target leave the tree, so `persist` deletes their rows,
closes their inbox rows and drops their timers (a boundary timer of the target is armed again when
the target is ready again); the target keeps its task id, so its inbox row is reopened — for the
person who did it before, with fresh deadlines. The history is not touched: what was done after the
target stays in the hash-chained events and in the closed inbox rows.

What a process says (properties of the user task, `spiffworkflow:properties`):
- `sendBack`: `false` — this step cannot be sent back;
- `sendBackTo`: element ids (comma-separated) of the earlier user tasks it may be sent back to;
  without it, only the nearest earlier user task;
- `sendBackAcrossBranches`: `true` — it may be sent back across a parallel split, an inclusive
  split or a multi-instance (whose other branches then leave the tree too); refused otherwise;
- `withdraw`: `false` — the performer of this step cannot take it back.
"""
from __future__ import annotations

import json
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine import history
from engine.bpmn import spiff
from engine.db.schema import event, human_task, instance_task, process_instance, task_draft
from engine.errors import Conflict, Invalid, NotFound, Problem, TaskClaimedByOther
from engine.runtime import human_tasks, store
from engine.runtime.unit_of_work import human_row, ready_task

SENT_BACK = "task_sent_back"
WITHDRAWN = "task_withdrawn"
_NO = ("false", "no", "0", "否")
_SPLITS = (ParallelGateway, InclusiveGateway, MultiInstanceTask)


def _flag(props: dict, name: str) -> str:
    return str(props.get(name, "")).strip().lower()


def earlier_user_tasks(task):
    """The completed user tasks above `task` in its own (sub)process, nearest first."""
    t = task.parent
    while t is not None:
        if t.state == TaskState.COMPLETED and human_tasks.is_human(t):
            yield t
        t = t.parent


def targets(task) -> list:
    """Where `task` may be sent back to (nearest first): the nearest earlier user task, or the
    nearest one of each element `sendBackTo` lists. Conflict if the process does not allow it."""
    props = spiff.task_properties(task)
    if _flag(props, "sendBack") in _NO:
        raise Conflict("此步骤不允许退回", code="not_allowed")
    earlier = list(earlier_user_tasks(task))
    allowed = [s.strip() for s in str(props.get("sendBackTo", "")).split(",") if s.strip()]
    if allowed:
        found, seen = [], set()
        for t in earlier:
            if t.task_spec.bpmn_id in allowed and t.task_spec.bpmn_id not in seen:
                seen.add(t.task_spec.bpmn_id)
                found.append(t)
        earlier = found
    else:
        earlier = earlier[:1]
    if not earlier:
        raise Conflict("没有可退回的上一步", code="no_target")
    return earlier


def choose_target(task, to: str | None):
    """The target named by its element id `to` (default: the first of `targets`)."""
    candidates = targets(task)
    if not to:
        return candidates[0]
    for t in candidates:
        if t.task_spec.bpmn_id == to:
            return t
    raise Invalid("不能退回到该步骤", [Problem("不能退回到该步骤", field="to", code="not_a_target")])


def crosses_branches(target) -> bool:
    """Whether going back to `target` undoes a parallel or inclusive split or a multi-instance."""
    for t in target:
        if not t.state & store.NOT_STORED and t is not target and isinstance(t.task_spec, _SPLITS):
            return True
    return False


def _stored_data(conn, instance_id: str, task) -> dict:
    """The data a task held when it finished, as stored (a cold load reads history without data)."""
    if task is None:
        return {}
    raw = conn.execute(sa.select(instance_task.c.data_json).where(
        instance_task.c.instance_id == instance_id, instance_task.c.id == str(task.id))).scalar()
    return spiff.loads(raw) if raw else dict(task.data)


def previous_submission(conn, instance_id: str, task_id: str) -> dict:
    """What was submitted when the task was last completed (from the history)."""
    raw = conn.execute(sa.select(event.c.data_json).where(
        event.c.chain == instance_id, event.c.task_id == task_id, event.c.type == "task_completed")
        .order_by(event.c.seq.desc()).limit(1)).scalar()
    return (json.loads(raw).get("data") or {}) if raw else {}


def reset_to(conn, live, target, performer: str | None, outcome, run, *, closed_as: str) -> None:
    """Reset the live instance to `target` (it becomes ready for `performer` again) and run on.
    The open inbox rows that leave the tree are closed as `closed_as`."""
    data = _stored_data(conn, live.id, target.parent)
    before = {tid for tid in live.human}
    removed = live.wf.reset_from_task_id(target.id, data=data)
    for t in removed:        # a waiting event that left the tree must not be refreshed any more
        live.wf.event_manager.remove_task(t)
    for tid in before:
        try:
            gone = live.wf.get_task_from_id(UUID(tid)).state != TaskState.READY
        except TaskNotFoundException:
            gone = True
        if gone:
            outcome.closed_as[tid] = closed_as
    tid = str(target.id)
    outcome.reopened = outcome.reopened | {tid}
    if performer:
        outcome.assign[tid] = performer
    outcome.error = run(live.wf)


def check_children(conn, live, since) -> None:
    """Refuse while an instance started by this one after `since` is still running."""
    running = conn.execute(sa.select(process_instance.c.business_key).where(
        process_instance.c.parent_id == live.id, process_instance.c.status.in_(("active", "error")),
        process_instance.c.started_at >= since)).scalars().all()
    if running:
        raise Conflict(f"其后启动的子流程仍在进行（{'、'.join(k or '-' for k in running)}），不能回退",
                       code="children_running")


def send_back(uow, task_id: str, *, user: str, reason: str, to: str | None = None, prepare=None):
    """退回: the holder of a ready task returns the instance to an earlier user task (see module doc).
    `prepare(conn, target_id, performer, previous)` runs in the same transaction (e.g. to keep the
    previous submission as the performer's draft)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请填写退回原因", [Problem("请填写退回原因", field="reason", code="required")])

    def action(conn, live, outcome):
        row = human_row(conn, live, task_id)
        task = ready_task(live, task_id, row)
        if row.assignee and row.assignee != user:
            raise TaskClaimedByOther(f"task {task_id} is claimed by {row.assignee}", assignee=row.assignee)
        target = choose_target(task, to)
        if crosses_branches(target) and _flag(spiff.task_properties(task), "sendBackAcrossBranches") != "true":
            raise Conflict("不能跨越并行分支或多实例退回", code="crosses_branches")
        done = human_row(conn, live, str(target.id))
        check_children(conn, live, done.completed_at or live.header["started_at"])
        performer = done.completed_by
        outcome.events.append(history.NewEvent(SENT_BACK, task_id=task_id, element_id=task.task_spec.bpmn_id, data={
            "reason": reason, "to": target.task_spec.bpmn_id, "target_task": str(target.id),
            "assignee": performer}))
        if prepare is not None:
            prepare(conn, str(target.id), performer, previous_submission(conn, live.id, str(target.id)))
        reset_to(conn, live, target, performer, outcome, uow.run, closed_as="sent_back")
        outcome.completed_by[task_id] = user

    return uow.operate(None, user, action, task_id=task_id)


def untouched(conn, live, task_ids: list[str]) -> bool:
    """Whether no one has claimed, saved, handed over or commented on these open tasks."""
    rows = [live.human.get(t) for t in task_ids]
    if any(r is None or r["assignee"] for r in rows):
        return False
    acted = conn.execute(sa.select(sa.func.count()).select_from(event).where(
        event.c.chain == live.id, event.c.task_id.in_(task_ids), event.c.type != "task_ready")).scalar()
    drafts = conn.execute(sa.select(sa.func.count()).select_from(task_draft).where(
        task_draft.c.task_id.in_(task_ids))).scalar()
    return not acted and not drafts


def withdraw(uow, task_id: str, *, user: str, reason: str = ""):
    """撤回: the performer of a completed task takes it back while the tasks it led to are open and
    untouched (nobody claimed them or acted on them)."""
    reason = (reason or "").strip()

    def action(conn, live, outcome):
        row = conn.execute(sa.select(human_task).where(human_task.c.id == task_id)).one_or_none()
        if row is None or row.instance_id != live.id:
            raise NotFound(f"task {task_id} not found", field="task_id")
        if row.status != "completed" or row.completed_by != user:
            raise Conflict("只能撤回自己已完成的任务", code="not_performer")
        try:
            task = live.wf.get_task_from_id(UUID(task_id))
        except TaskNotFoundException:
            raise Conflict("流程已继续，不能撤回", code="moved_on") from None
        if _flag(spiff.task_properties(task), "withdraw") in _NO:
            raise Conflict("此步骤不允许撤回", code="not_allowed")
        following = [t for t in task if t is not task and not t.state & store.NOT_STORED]
        if any(t.state == TaskState.COMPLETED and human_tasks.is_human(t) for t in following):
            raise Conflict("下一步已办理，不能撤回", code="moved_on")
        open_ids = [str(t.id) for t in following if t.state == TaskState.READY and human_tasks.is_human(t)]
        if not open_ids or not untouched(conn, live, open_ids):
            raise Conflict("下一步已被认领或处理，不能撤回", code="moved_on")
        check_children(conn, live, row.completed_at)
        outcome.events.append(history.NewEvent(WITHDRAWN, task_id=task_id, element_id=task.task_spec.bpmn_id,
                                               data={"reason": reason}))
        reset_to(conn, live, task, user, outcome, uow.run, closed_as="withdrawn")

    return uow.operate(None, user, action, task_id=task_id)
