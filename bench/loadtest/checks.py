"""After the faults: what the clients were told holds in the database, exactly once."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from engine.db.schema import event, human_task, process_instance, timer


@dataclass
class Findings:
    acked_completions: int = 0
    acked_completions_in_db: int = 0          # acknowledged with 2xx and completed, with one task_completed event
    acked_completions_missing: int = 0
    completions_recorded_twice: int = 0       # any task with more than one task_completed event
    unacked_completions: int = 0              # no answer reached the client (node killed mid-request)
    unacked_completions_committed: int = 0    # ... of which the database holds the completion (once)
    timer_instances: int = 0
    timers_fired_once: int = 0
    timers_fired_twice: int = 0
    timers_not_fired: int = 0
    audit_ok: bool = False
    audit_events: int = 0

    @property
    def ok(self) -> bool:
        return (self.acked_completions_missing == 0 and self.completions_recorded_twice == 0
                and self.timers_fired_twice == 0 and self.timers_not_fired == 0 and self.audit_ok)

    def to_dict(self) -> dict:
        return dict(asdict(self), ok=self.ok)


def _chunks(ids: list[str], n: int = 1000):
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def wait_for_timers(db, instance_ids: list[str], timeout: float = 180.0) -> float:
    """Wait until the timers of these instances have fired (a killed scheduler's leases last 60 s)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with db.connect() as conn:
            left = sum(conn.execute(sa.select(sa.func.count()).select_from(timer)
                                    .where(timer.c.instance_id.in_(chunk))).scalar() for chunk in _chunks(instance_ids))
        if left == 0:
            break
        time.sleep(1.0)
    return time.monotonic() - began


def check(db, acked: list[str], unacked: list[str], timer_instances: list[str]) -> Findings:
    f = Findings(acked_completions=len(acked), unacked_completions=len(unacked), timer_instances=len(timer_instances))
    with db.connect() as conn:
        f.completions_recorded_twice = conn.execute(sa.select(sa.func.count()).select_from(
            sa.select(event.c.task_id).where(event.c.type == "task_completed").group_by(event.c.task_id)
            .having(sa.func.count() > 1).subquery())).scalar()
        for ids, counter in ((acked, "acked"), (unacked, "unacked")):
            for chunk in _chunks(ids):
                rows = conn.execute(sa.select(human_task.c.id, human_task.c.status, sa.func.count(event.c.id))
                                    .select_from(human_task.outerjoin(event, sa.and_(
                                        event.c.task_id == human_task.c.id, event.c.type == "task_completed")))
                                    .where(human_task.c.id.in_(chunk)).group_by(human_task.c.id, human_task.c.status))
                for _id, status, n in rows:
                    if counter == "acked":
                        if status == "completed" and n == 1:
                            f.acked_completions_in_db += 1
                    elif status == "completed" and n == 1:
                        f.unacked_completions_committed += 1
        f.acked_completions_missing = f.acked_completions - f.acked_completions_in_db
        for chunk in _chunks(timer_instances):
            fired = dict(conn.execute(sa.select(event.c.instance_id, sa.func.count())
                                      .where(event.c.chain.in_(chunk), event.c.type == "timer_fired")
                                      .group_by(event.c.instance_id)).all())
            status = dict(conn.execute(sa.select(process_instance.c.id, process_instance.c.status)
                                       .where(process_instance.c.id.in_(chunk))).all())
            for iid in chunk:
                n = fired.get(iid, 0)
                if n == 1 and status.get(iid) == "completed":
                    f.timers_fired_once += 1
                elif n > 1:
                    f.timers_fired_twice += 1
                else:
                    f.timers_not_fired += 1
    return f
