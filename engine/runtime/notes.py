"""Events about a task that change nothing in the process itself — 催办 (urged), 抄送 (copied, and
the copy read), 加签 (a signer added, their signature) — written into the instance's hash chain like every other operation, with the
caller's own rows in the same transaction. A replay records them again as they were."""
from __future__ import annotations

from typing import Callable

from engine import history
from engine.errors import NotFound, TaskNotReady
from engine.runtime.unit_of_work import human_row

URGED = "task_urged"
COPIED = "task_copied"
COPY_READ = "copy_read"
SIGNER_ADDED = "signer_added"
SIGNER_SIGNED = "signer_signed"
TYPES = (URGED, COPIED, COPY_READ, SIGNER_ADDED, SIGNER_SIGNED)


def record(uow, task_id: str, *, user: str, event_type: str, data: dict, open_only: bool = False,
           within: Callable | None = None):
    """Write `event_type` about a task of an instance. `within(conn, live, row)` (the task's inbox
    row) runs in the same transaction and may refuse (nothing is written then). `open_only`: the
    task must still be open (TaskNotReady otherwise)."""
    if event_type not in TYPES:
        raise ValueError(event_type)

    def action(conn, live, outcome):
        row = human_row(conn, live, task_id)
        if row.instance_id != live.id:
            raise NotFound(f"task {task_id} not found", field="task_id")
        if open_only and row.status != "open":
            raise TaskNotReady("此任务已不在办理中")
        if within is not None:
            within(conn, live, row)
        outcome.events.append(history.NewEvent(event_type, task_id=task_id, element_id=row.element_id, data=data))

    return uow.operate(None, user, action, task_id=task_id)
