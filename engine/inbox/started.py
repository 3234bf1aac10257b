"""我发起的: the instances a person started, with their state and what happened, and the receipt of
one — what they submitted, when, and what the process declares worth telling them (its `receipt`
property: `variable:label` pairs, e.g. `on_time:按期说明` for a voluntary disclosure)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from engine.db.schema import event, human_task, process_instance
from engine.db.transactions import read_transaction
from engine.errors import NotFound
from engine.org.people import Principal
from engine.runtime import elements, queries

LIMIT = 100


@dataclass
class StartedCase:
    id: str
    process_key: str
    process_name: str
    business_key: str | None
    status: str                     # active, completed, cancelled, error
    started_at: datetime
    ended_at: datetime | None
    open_steps: list[str] = field(default_factory=list)        # the names of its open tasks
    told: list[tuple[str, object]] = field(default_factory=list)   # (label, value) the process declares
    submitted: dict = field(default_factory=dict)              # what the starter submitted
    start_form: str | None = None


def receipt_fields(declared: str | None) -> list[tuple[str, str]]:
    """(variable, label) pairs of a `receipt` property."""
    pairs = []
    for part in (declared or "").split(","):
        variable, _, label = part.partition(":")
        if variable.strip():
            pairs.append((variable.strip(), (label or variable).strip()))
    return pairs


def _cases(conn, engine, rows) -> list[StartedCase]:
    infos = engine.process_infos()
    ids = [r.id for r in rows]
    steps: dict[str, list[str]] = {}
    for t in conn.execute(sa.select(human_task.c.instance_id, human_task.c.name).where(
            human_task.c.instance_id.in_(ids or ["-"]), human_task.c.status == "open").order_by(human_task.c.created_at)):
        steps.setdefault(t.instance_id, []).append(t.name)
    data = queries.instance_data(conn, ids) if ids else {}
    found = []
    for r in rows:
        info = infos.get(r.process_key)
        case = StartedCase(r.id, r.process_key, (info.name if info else None) or r.process_key, r.business_key,
                           r.status, r.started_at, r.ended_at, steps.get(r.id, []),
                           start_form=info.start_form if info else None)
        own = data.get(r.id, {})
        case.told = [(label, own[v]) for v, label in receipt_fields(info.receipt if info else None) if v in own]
        found.append(case)
    return found


def started_by(engine, p: Principal) -> list[StartedCase]:
    """The instances `p` started, latest first."""
    c = process_instance.c
    with read_transaction(engine.db) as conn:
        rows = conn.execute(sa.select(c.id, c.process_key, c.business_key, c.status, c.started_at, c.ended_at)
                            .where(c.started_by == p.username).order_by(c.started_at.desc(), c.id).limit(LIMIT)).all()
        return _cases(conn, engine, rows)


def receipt(engine, p: Principal, instance_id: str) -> StartedCase:
    """One instance `p` started, with what they submitted (its `instance_started` event); NotFound for
    anyone else's."""
    c = process_instance.c
    queries.check_uuid(instance_id, "instance_id")
    with read_transaction(engine.db) as conn:
        row = conn.execute(sa.select(c.id, c.process_key, c.business_key, c.status, c.started_at, c.ended_at)
                           .where(c.id == instance_id, c.started_by == p.username)).one_or_none()
        if row is None:
            raise NotFound(f"流程实例 {instance_id} 不存在", field="instance_id")
        case = _cases(conn, engine, [row])[0]
        started = conn.execute(sa.select(event.c.data_json).where(
            event.c.chain == instance_id, event.c.type == "instance_started").limit(1)).scalar()
        case.submitted = (json.loads(started or "{}").get("data") or {})
        case.process_name = elements.process_name(conn, engine.registry, instance_id) or case.process_name
    return case
