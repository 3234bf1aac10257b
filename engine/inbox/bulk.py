"""Bulk actions in the inbox: claim, release, or complete several tasks at once — each its own
operation (its own transaction and event), failures reported per task, the others done.

Completing in bulk gives each task the decision its form declares for it (`"bulk": {"field":
"accepted", "value": true, "label": "通过"}` in the form definition) and nothing else; a task whose
form declares none, or whose form needs more than that decision, is refused on its own line."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.errors import EngineError, Invalid, Problem
from engine.inbox import submission, tasks as inbox_tasks
from engine.org.people import Principal

ACTIONS = ("claim", "release", "complete")
MAX_TASKS = 100


@dataclass
class Result:
    task_id: str
    ok: bool
    code: str | None = None
    message: str | None = None
    name: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _complete(engine, p: Principal, task_id: str) -> None:
    task = inbox_tasks.viewable(engine, p, task_id)
    definition = engine.forms.for_task(task)
    bulk = (definition or {}).get("bulk")
    if not bulk:
        raise Invalid("此任务的表单不允许批量办理", [Problem("此任务的表单不允许批量办理", code="not_bulk")])
    submission.submit(engine, p, task_id, {bulk["field"]: bulk["value"]})


def run(engine, p: Principal, action: str, task_ids) -> list[Result]:
    """Do `action` on each task of `task_ids` (in order, each once)."""
    ids = list(dict.fromkeys(t.strip() for t in task_ids or () if t and t.strip()))
    problems = []
    if action not in ACTIONS:
        problems.append(Problem(f"未知的批量操作 {action}", field="action", code="unknown_action"))
    if not ids:
        problems.append(Problem("请选择任务", field="task_ids", code="required"))
    elif len(ids) > MAX_TASKS:
        problems.append(Problem(f"一次最多 {MAX_TASKS} 个任务", field="task_ids", code="too_many"))
    if problems:
        raise Invalid("批量操作有误", problems)
    results = []
    for task_id in ids:
        name = None
        try:
            name = inbox_tasks.viewable(engine, p, task_id).name
            if action == "claim":
                inbox_tasks.claim_checked(engine, p, task_id)
            elif action == "release":
                inbox_tasks.unclaim(engine, p, task_id)
            else:
                _complete(engine, p, task_id)
            results.append(Result(task_id, True, name=name))
        except submission.FormRejected as exc:
            message = "；".join(dict.fromkeys(exc.submission.errors.values())) or "表单未通过检查"
            results.append(Result(task_id, False, "form_rejected", message, name))
        except EngineError as exc:
            results.append(Result(task_id, False, exc.to_dict()["code"], exc.message, name))   # the precise code
    return results
