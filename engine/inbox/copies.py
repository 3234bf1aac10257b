"""抄送 (copy to, 知会): a read-only copy of a task in colleagues' inboxes, with a read receipt.

Whoever works or did the task (or the discipline office, or the head of its department) copies it
to active colleagues with a message; each copy and its first reading are events in the instance's
history. A confidential process is copied only to people who hold one of the roles it names, and a
copy is shown only while they still do."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from engine.db.schema import task_copy
from engine.db.transactions import read_transaction
from engine.deadlines import notifications
from engine.errors import Invalid, NotFound, Problem
from engine.inbox.tasks import viewable
from engine.org.people import Principal, principal
from engine.org.roles import DISCIPLINE_OFFICE
from engine.permissions import can_work, is_read_only, require
from engine.runtime import notes
from engine.runtime.views import HumanTask

MAX_RECIPIENTS = 20
MAX_MESSAGE = 500


def can_copy(p: Principal, task: HumanTask) -> bool:
    if is_read_only(p):
        return False
    return (can_work(p, task) or task.completed_by == p.username or p.has(DISCIPLINE_OFFICE)
            or task.candidate_department in p.heads)


def _may_read(who: Principal, task: HumanTask) -> bool:
    confidential = task.confidential
    return not confidential or who.has(*confidential.split(","))


def _recipients(conn, p: Principal, task: HumanTask, usernames) -> list[Principal]:
    names = list(dict.fromkeys(u.strip() for u in usernames or () if u and u.strip()))
    problems, found = [], []
    if not names:
        problems.append(Problem("请选择抄送对象", field="to", code="required"))
    elif len(names) > MAX_RECIPIENTS:
        problems.append(Problem(f"一次最多抄送 {MAX_RECIPIENTS} 人", field="to", code="too_many"))
    for name in names[:MAX_RECIPIENTS]:
        who = principal(conn, name)
        if who is None:
            problems.append(Problem(f"没有在职的同事 {name}", field="to", code="unknown_staff"))
        elif who.username == p.username:
            problems.append(Problem("不能抄送给自己", field="to", code="self"))
        elif not _may_read(who, task):
            problems.append(Problem(f"此流程保密，不能抄送给 {who.name}", field="to", code="confidential"))
        else:
            found.append(who)
    if problems:
        raise Invalid("抄送对象有误", problems)
    return found


def copy(engine, p: Principal, task_id: str, to, message: str | None = None) -> list[dict]:
    """Copy a task to colleagues (`to`: usernames). Answers the task's copies."""
    task = viewable(engine, p, task_id)
    require(can_copy(p, task), "你不能抄送此任务")
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise Invalid("附言过长", [Problem(f"不能超过 {MAX_MESSAGE} 字", field="message", code="too_long")])
    with read_transaction(engine.db) as conn:
        people = _recipients(conn, p, task, to)

    def write(conn, live, row) -> None:
        now = engine.clock.now()
        for who in people:
            copy_id = conn.execute(task_copy.insert().values(
                instance_id=live.id, task_id=task_id, recipient=who.username, sent_by=p.username, message=message,
                created_at=now)).inserted_primary_key[0]
            notifications.add(conn, kind="copy", now=now, user=who.username, instance_id=live.id, task_id=task_id,
                              title=f"抄送：{row.name}", body=f"{p.name}抄送给你：{message or row.name}",
                              confidential=row.confidential is not None, link=f"/copies/{copy_id}")
    engine.note(task_id, user=p.username, event_type=notes.COPIED, within=write,
                data={"to": [w.username for w in people], "message": message})
    return of_task(engine, task_id)


def of_task(engine, task_id: str) -> list[dict]:
    """A task's copies with their read receipts (the task page shows them)."""
    with read_transaction(engine.db) as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(task_copy).where(task_copy.c.task_id == task_id).order_by(task_copy.c.id))]


def mine(engine, p: Principal, limit: int = 200) -> list[dict]:
    """`p`'s copies, unread first, each with its task (confidential ones only while `p` may read them)."""
    with read_transaction(engine.db) as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(task_copy).where(task_copy.c.recipient == p.username)
            .order_by(task_copy.c.read_at.is_not(None), task_copy.c.id.desc()).limit(limit))]
    found = []
    for r in rows:
        task = engine.task(r["task_id"])
        if _may_read(p, task):
            found.append({**r, "task": task})
    return found


@dataclass
class CopyPage:
    copy: dict
    task: HumanTask
    instance: object           # InstanceView
    definition: dict | None


def open_copy(engine, p: Principal, copy_id: int) -> CopyPage:
    """The copy, read-only, for its recipient (NotFound for anyone else); the first opening is the
    read receipt."""
    with read_transaction(engine.db) as conn:
        row = conn.execute(sa.select(task_copy).where(task_copy.c.id == copy_id)).one_or_none()
    if row is None or row.recipient != p.username:
        raise NotFound(f"抄送 {copy_id} 不存在", field="copy_id")
    task = engine.task(row.task_id)
    if not _may_read(p, task):
        raise NotFound(f"抄送 {copy_id} 不存在", field="copy_id")
    if row.read_at is None:
        def mark(conn, live, _row) -> None:
            conn.execute(task_copy.update().where(task_copy.c.id == copy_id, task_copy.c.read_at.is_(None))
                         .values(read_at=engine.clock.now()))
        engine.note(row.task_id, user=p.username, event_type=notes.COPY_READ, within=mark, data={"copy": copy_id})
    with read_transaction(engine.db) as conn:
        row = conn.execute(sa.select(task_copy).where(task_copy.c.id == copy_id)).one()
    return CopyPage(dict(row._mapping), task, engine.show(row.instance_id), engine.forms.for_task(task))
