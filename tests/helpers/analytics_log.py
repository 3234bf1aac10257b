"""A hand-made event log for process analytics: instances and their events written straight into
the database (as the engine writes them: one hash chain per instance), so a test knows every figure."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from engine import history
from engine.db.schema import event, process_instance
from engine.db.transactions import write_transaction

T = datetime(2026, 9, 28, 1, 0, tzinfo=timezone.utc)     # a Monday, 09:00 in Beijing
H = timedelta(hours=1)


def ready(at, tid, element, *, due=None, department=None):
    return (at, "task_ready", tid, element, None,
            {"name": element, "lane": None, "role": None, "department": department, "form_key": None,
             "due_at": due.isoformat() if due else None})


def claimed(at, tid, element, who):
    return (at, "task_claimed", tid, element, who, {})


def completed(at, tid, element, who):
    return (at, "task_completed", tid, element, who, {"data": {}})


def sent_back(at, tid, element, who):
    return (at, "task_sent_back", tid, element, who, {})


def write(db, version_id: int, instance_id: str, events, *, ended_at=None, key: str = "w1_process") -> None:
    """Append `events` — (at, type, task_id, element_id, actor, data) — to the instance's chain (made
    on first use); `ended_at`: the instance completed then."""
    with write_transaction(db) as conn:
        row = conn.execute(sa.select(process_instance).where(process_instance.c.id == instance_id)).one_or_none()
        if row is None:
            start = events[0][0]
            conn.execute(process_instance.insert().values(
                id=instance_id, process_version_id=version_id, process_key=key, status="active",
                started_by="alice", started_at=start, updated_at=start, revision=1, event_seq=0,
                event_head=history.GENESIS, workflow_json="{}"))
            seq, head = 0, history.GENESIS
        else:
            seq, head = row.event_seq, row.event_head
        for at, kind, tid, element, actor, data in events:
            rows, seq, head = history.chain_rows(instance_id, instance_id, seq, head, at, [
                history.NewEvent(kind, data=data, actor=actor, task_id=tid, element_id=element)])
            conn.execute(event.insert(), rows)
        values = {"event_seq": seq, "event_head": head}
        if ended_at is not None:
            values.update(status="completed", ended_at=ended_at)
        conn.execute(process_instance.update().where(process_instance.c.id == instance_id).values(**values))


def first_half(db, version_id: int) -> None:
    """Four instances of w1 (steps `fill`, `review`), up to the middle of the second one."""
    write(db, version_id, "i1", [
        ready(T, "t1", "fill", due=T + 2 * H, department="neike"), claimed(T + H, "t1", "fill", "nurse"),
        completed(T + 3 * H, "t1", "fill", "nurse"),
        ready(T + 3 * H, "t2", "review"), completed(T + 4 * H, "t2", "review", "jijian")], ended_at=T + 4 * H)
    write(db, version_id, "i2", [
        ready(T, "t3", "fill", due=T + 10 * H, department="neike"), claimed(T + 2 * H, "t3", "fill", "nurse2"),
        completed(T + 6 * H, "t3", "fill", "nurse2"),
        ready(T + 6 * H, "t4", "review"), claimed(T + 7 * H, "t4", "review", "jijian")])
    write(db, version_id, "i4", [ready(T, "t8", "fill", due=T + H, department="neike")])


def second_half(db, version_id: int) -> None:
    write(db, version_id, "i2", [
        sent_back(T + 8 * H, "t4", "review", "jijian"),
        ready(T + 8 * H, "t5", "fill", due=T + 9 * H, department="waike"), completed(T + 10 * H, "t5", "fill", "surgeon"),
        ready(T + 10 * H, "t6", "review"), completed(T + 34 * H, "t6", "review", "jijian")], ended_at=T + 34 * H)
    write(db, version_id, "i3", [
        ready(T, "t7", "fill", due=T + 48 * H, department="waike"), claimed(T + H / 2, "t7", "fill", "surgeon"),
        completed(T + H, "t7", "fill", "surgeon")], ended_at=T + H)


def the_log(db, version_id: int) -> None:
    first_half(db, version_id)
    second_half(db, version_id)
