"""Handing a task over: delegated by its holder, or reassigned by the head of its department (or an
admin), to an active colleague, with a reason kept in the history."""
from __future__ import annotations

from engine.db.transactions import read_transaction
from engine.errors import Invalid, Problem
from engine.inbox.tasks import viewable
from engine.org.people import Principal, principal
from engine.permissions import can_delegate, can_reassign, require
from engine.runtime import recusal


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


def checked_target(engine, p: Principal, to: str, reason: str) -> Principal:
    """`handover_target`, in a read of its own."""
    with read_transaction(engine.db) as conn:
        return handover_target(conn, p, to, reason)


def hand_over(eng, p: Principal, task_id: str, kind: str, to: str, reason: str) -> tuple[Principal, dict]:
    """Delegate (by the holder) or reassign (by the department head) a task `p` may see, with a
    reason. Returns the colleague and the task as it stands after."""
    task = viewable(eng, p, task_id)
    target = checked_target(eng, p, to, reason)
    with read_transaction(eng.db) as conn:
        if recusal.excluded_persons(conn, task["instance_id"]).excludes(target):     # 回避
            raise Invalid("转交信息有误", [Problem("该同事须回避此事项，不能接手", field="to", code="recused")])
    if kind == "delegate":
        require(can_delegate(p, task), "只能转交自己已认领的任务")
        act = eng.delegate
    else:
        require(can_reassign(p, task), "只有本科室负责人可以改派")
        act = eng.reassign
    return target, act(task["id"], user=p.username, to=target.username, reason=reason.strip())
