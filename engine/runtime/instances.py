"""A live instance: the Spiff workflow of a running instance with what the engine keeps beside it
(open inbox rows, armed timers, open incidents), and its rebuilding from rows.

An operation (see unit_of_work) takes a live instance from the cache or `load`s it, mutates it,
and `persist` (see persist) writes what changed. The cache only ever holds committed state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from engine import history
from engine.bpmn.registry import LoadedVersion
from engine.db.prepared import Prepared, fetch_together
from engine.db.schema import TASK_OPEN, human_task, incident, instance_task, timer
from engine.deadlines.due import timer_definition
from engine.runtime import store


@dataclass
class LiveInstance:
    id: str
    version: LoadedVersion
    wf: object
    snap: store.Snapshot
    revision: int
    event_seq: int
    event_head: str
    status: str
    header: dict = field(default_factory=dict)      # instance columns shown with it (key, starter, dates)
    human: dict = field(default_factory=dict)       # task id -> open inbox row
    timers: dict = field(default_factory=dict)      # task id -> due datetime
    incidents: dict = field(default_factory=dict)   # task id -> open incident row
    frontier: list = field(default_factory=list)    # unfinished tasks after the last step
    stored_state: str | None = None                 # SHA-256 state digest of the row as stored (history.state_digest)

    @property
    def open_human(self) -> set:
        return {UUID(k) for k in self.human}

    @property
    def errored(self) -> set:
        return {UUID(k) for k in self.incidents}


_c = instance_task.c
# built once, run on the driver, sent together (one round trip on PostgreSQL): an instance's task rows
# (without their data), its open inbox rows and its armed timers
_TASK_ROWS = Prepared(sa.select(_c.id, _c.workflow_id, _c.parent_id, _c.seq, _c.state, _c.spec_name, _c.props_json)
                      .where(_c.instance_id == sa.bindparam("p_instance")).order_by(_c.seq), typed=True)
_OPEN_HUMAN = Prepared(sa.select(human_task).where(human_task.c.instance_id == sa.bindparam("p_instance"),
                                                   TASK_OPEN)
                       .order_by(human_task.c.created_at, human_task.c.id), typed=True)
_TIMERS = Prepared(sa.select(timer.c.task_id, timer.c.due_at).where(timer.c.instance_id == sa.bindparam("p_instance")),
                   typed=True)


def load(conn, row, version: LoadedVersion, script_engine) -> LiveInstance:
    """Rebuild a live instance from its rows."""
    iid = row.id
    key = {"p_instance": iid}
    rows, open_human, armed = fetch_together(conn, [(_TASK_ROWS, key), (_OPEN_HUMAN, key), (_TIMERS, key)])
    wanted = store.needed_data_ids(rows, version.joins)
    data_by_id = {}
    if wanted:
        for r in conn.execute(sa.select(_c.id, _c.data_json).where(_c.instance_id == iid, _c.id.in_(wanted))):
            data_by_id[r.id] = r.data_json
    wf, snap = store.assemble(version.spec, version.subprocess_specs, row.workflow_json, rows, data_by_id,
                              script_engine)
    live = LiveInstance(iid, version, wf, snap, row.revision, row.event_seq, row.event_head, row.status,
                        header=header_of(row))
    live.stored_state = history.state_digest(row.workflow_json, row.status, store.frontier_text(snap))
    live.human = {r.id: r._asdict() for r in open_human}
    live.timers = {UUID(r.task_id): r.due_at for r in armed}
    if row.status == "error":      # open incidents exist only while the instance is in error
        live.incidents = {r.task_id: dict(r._mapping) for r in conn.execute(
            sa.select(incident).where(incident.c.instance_id == iid, incident.c.resolved_at.is_(None),
                                      incident.c.task_id.is_not(None)))}
    live.frontier = [t for t in store.all_tasks(wf) if t.state & store.FRONTIER]
    store.remember_frontier(wf, live.frontier)
    return live


def header_of(row) -> dict:
    return {k: getattr(row, k) for k in ("process_key", "business_key", "started_by", "started_at", "ended_at", "parent_id")}


@dataclass
class StepOutcome:
    """What one operation changed, beyond the task rows."""

    now: datetime
    actor: str | None
    events: list = field(default_factory=list)          # input events, first
    effects: list = field(default_factory=list)         # events written by service tasks (phase changes...)
    completed_by: dict = field(default_factory=dict)    # task id -> user, for human completions
    reopened: set = field(default_factory=set)          # human task ids a retry made ready again (rows exist)
    assign: dict = field(default_factory=dict)          # task id -> who a reopened task goes to (send back)
    closed_as: dict = field(default_factory=dict)       # task id -> closing status other than cancelled
    error: Exception | None = None
    recorded: list = field(default_factory=list)        # every event the operation wrote


def is_timer(task) -> bool:
    return timer_definition(task) is not None


class StaleVersion(Exception):
    """A new instance's `guard` failed: its process version is no longer the latest."""
