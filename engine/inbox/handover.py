"""Handing a task over, to the people its lane lets have it (the lane's role, within the department
its rule names; for a confidential process, the roles that may see it) — the engine refuses anyone
else, for every process:

- 委托 (delegate, Camunda's delegation): the holder stays its owner; the delegate fills it in and
  hands it back (`resolve`), and the owner completes it;
- 转交 (transfer): the holder gives it away for good;
- 改派 (reassign): the head of its department (or an admin) gives it to someone, whoever holds it.

Each keeps its reason in the history. The people offered are searched by name, pinyin initials
(王护士: `whs`), username or department.
"""
from __future__ import annotations

from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

from engine.db.transactions import read_transaction
from engine.errors import Invalid, Problem
from engine.inbox.tasks import viewable
from engine.org import people as org
from engine.org.people import Principal
from engine.permissions import can_delegate, can_reassign, may_receive, require
from engine.runtime import recusal
from engine.runtime.views import HumanTask

DELEGATE, TRANSFER, REASSIGN = "delegate", "transfer", "reassign"


@dataclass(frozen=True)
class Target:
    """A person a task may be handed to, with what the search matches."""
    username: str
    name: str
    department: str | None
    department_name: str
    initials: str           # pinyin initials of the name: 王护士 -> whs

    def matches(self, query: str) -> bool:
        q = query.strip().lower()
        return not q or any(q in s.lower() for s in (self.name, self.username, self.initials, self.department_name))


def initials(name: str) -> str:
    """The pinyin initials of a Chinese name (letters and digits of a Latin one kept as they are)."""
    return "".join(s[:1] for s in lazy_pinyin(name or "", style=Style.FIRST_LETTER)).lower()


def targets(conn, task: HumanTask, exclude: str | None = None) -> list[Target]:
    """The people `task` may be handed to (not `exclude`, who hands it over)."""
    if not task.candidate_role:
        return []
    names = org.department_names(conn)
    recused = recusal.excluded_persons(conn, task.instance_id)          # 回避: never offered
    return [Target(p.username, p.name, p.department, names.get(p.department, "") if p.department else "",
                   initials(p.name))
            for p in org.holders_of(conn, task.candidate_role, task.candidate_department)
            if p.username != exclude and may_receive(p, task) and not recused.excludes(p)]


def targets_for(engine, p: Principal, task_id: str, query: str = "") -> list[Target]:
    """Whom `p` may hand the task to, matching `query` (name, pinyin initials, username or department)."""
    task = viewable(engine, p, task_id)
    with read_transaction(engine.db) as conn:
        return [t for t in targets(conn, task, exclude=p.username) if t.matches(query)]


def hand_over(eng, p: Principal, task_id: str, kind: str, to: str, reason: str) -> HumanTask:
    """Delegate or transfer (by the holder) or reassign (by the department head) a task `p` may see,
    with a reason; `Invalid` naming the field at fault (the engine refuses anyone the task may not go
    to). Returns the task as it stands after."""
    task = viewable(eng, p, task_id)
    target = checked_target(eng, p, to, reason)
    to, reason = target.username, (reason or "").strip()
    with read_transaction(eng.db) as conn:
        if recusal.excluded_persons(conn, task.instance_id).excludes(target):     # 回避
            raise Invalid("转交信息有误", [Problem("该同事须回避此事项，不能接手", field="to", code="recused")])
    if kind == REASSIGN:
        require(can_reassign(p, task), "只有本科室负责人可以改派")
        return eng.reassign(task.id, user=p.username, to=to, reason=reason)
    require(can_delegate(p, task), "只能转交自己已认领的任务")
    act = eng.delegate if kind == DELEGATE else eng.transfer
    return act(task.id, user=p.username, to=to, reason=reason)


def target_name(eng, username: str) -> str:
    """The name of the person a task went to, for the answer."""
    with read_transaction(eng.db) as conn:
        found = org.principal(conn, username)
    return found.name if found else username


def checked_target(engine, p: Principal, to: str, reason: str) -> Principal:
    """An active colleague (not `p`) and a reason, in a read of its own; `Invalid` naming each field at
    fault. (Whether the task may go to them is the engine's check, at the hand-over.)"""
    to, reason = (to or "").strip(), (reason or "").strip()
    with read_transaction(engine.db) as conn:
        target = org.principal(conn, to) if to else None
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
