"""Writing what an operation changed, in one batch: `persist` is a sequence of named steps.

Each step reads the task rows that changed (`store.diff`) and adds its prepared statements and its
events to a `_Write`; the last step sends the instance row first (the lock and the optimistic
revision check), then every statement — the messages it sends included — in one batch (see
prepared.run_all): no extra round trip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import history
from engine.bpmn import spiff
from engine.db.prepared import GuardFailed, Prepared, PreparedInsert, run_all
from engine.db.schema import event, human_task, incident, instance_task, process_instance, timer
from engine.deadlines.due import timer_definition, timer_due
from engine.errors import ConcurrentUpdate, Invalid, Problem
from engine.runtime import announcements, human_tasks, store
from engine.runtime.instances import LiveInstance, StaleVersion, StepOutcome, is_timer
from engine.deadlines.policy import TaskPolicy
from engine.runtime.stepping import describe


def _insert(table, exclude=()) -> Prepared:
    return PreparedInsert(table, exclude)


def _update(table, keys: tuple, cols: tuple) -> Prepared:
    where = [table.c[k] == sa.bindparam("k_" + k) for k in keys]
    return Prepared(table.update().where(*where).values({c: sa.bindparam("p_" + c) for c in cols}))


def _params(row: dict, prefix: str = "p_") -> dict:
    return {prefix + k: v for k, v in row.items()}


INSERT_INSTANCE = _insert(process_instance)
UPDATE_INSTANCE = _update(process_instance, ("id", "revision"),
                          ("revision", "status", "updated_at", "ended_at", "event_seq", "event_head", "workflow_json"))
INSERT_TASK = _insert(instance_task)
UPDATE_TASK = _update(instance_task, ("instance_id", "id"), ("state", "props_json", "data_json"))
DELETE_TASK = Prepared(instance_task.delete().where(instance_task.c.instance_id == sa.bindparam("k_instance_id"),
                                                    instance_task.c.id == sa.bindparam("k_id")))
INSERT_HUMAN = _insert(human_task)
CLOSE_HUMAN = _update(human_task, ("id",), ("status", "completed_by", "completed_at"))
REOPEN_HUMAN = _update(human_task, ("id",), tuple(c.name for c in human_task.columns if c.name != "id"))
INSERT_TIMER = _insert(timer)
MOVE_TIMER = _update(timer, ("task_id",), ("due_at", "lease_owner", "lease_until"))
DELETE_TIMER = Prepared(timer.delete().where(timer.c.task_id == sa.bindparam("k_task_id")))
INSERT_EVENT = _insert(event, exclude=("id",))


@dataclass
class _Write:
    """What the steps of one `persist` collect before the batch is sent."""

    live: LiveInstance
    now: datetime
    statements: list = field(default_factory=list)   # (statement, params), executed in order after the instance row
    fired: list = field(default_factory=list)        # timers that fired: inputs too, recorded before their effects
    effects: list = field(default_factory=list)      # tasks ready/cancelled, incidents, end
    new_tasks: list = field(default_factory=list)    # inbox rows to announce to whoever will work them

    def add(self, statement, params) -> None:
        self.statements.append((statement, params))


def persist(conn, live: LiveInstance, outcome: StepOutcome, policy: TaskPolicy, *, new_row: dict | None = None,
            guard: tuple | None = None, final: bool = False, also: list | None = None) -> None:
    """Write everything the operation changed and advance the instance's revision.

    `new_row` holds the columns of a new instance's row: it is inserted instead of updated.
    `guard` (a prepared SELECT and its parameters) must return exactly one row, else nothing
    is written and StaleVersion is raised. `final`: the caller writes nothing after this in the
    transaction (see prepared.run_all). `also`: the caller's own prepared (statement, parameters)
    pairs, written in the same batch.
    """
    writes, deleted, frontier = store.diff(live.wf, live.snap)
    written = {w.task.id for w in writes}
    store.repredict([t for t in frontier if t.id in written])   # unchanged tasks are canonical already
    w = _Write(live, outcome.now)
    _task_rows(w, writes, deleted)
    _inbox_changes(w, writes, deleted, outcome, policy)
    _timer_changes(w, writes, deleted, policy)
    _incidents(w, writes, outcome)
    ended = _status(live, frontier)
    events = _history(w, outcome, frontier, ended)
    # the result goes to whoever started the instance; an instance another one started (a department's
    # part of a campaign phase) reports to its parent, not to the person who set the parent going
    tell_starter = ended and not live.header.get("parent_id") and live.header.get("started_by") not in (
        None, outcome.actor)
    # the notifications go in the batch too (their messages are written by the scheduler's tick)
    messages = announcements.new_tasks(live, w.new_tasks, w.now) if w.new_tasks else []
    if tell_starter:
        messages += announcements.result(live, w.now)
    _write_batch(conn, live, w, events, ended, new_row=new_row, guard=guard, final=final,
                 also=messages + (also or []))


def _task_rows(w: _Write, writes, deleted) -> None:
    """The task rows: new, changed, gone."""
    iid = w.live.id
    inserts = [_params(dict(x.row, instance_id=iid)) for x in writes if x.is_new]
    updates = [{"k_instance_id": iid, "k_id": x.row["id"], "p_state": x.row["state"],
                "p_props_json": x.row["props_json"], "p_data_json": x.row["data_json"]}
               for x in writes if not x.is_new]
    if inserts:
        w.add(INSERT_TASK, inserts)
    if updates:
        w.add(UPDATE_TASK, updates)
    if deleted:
        w.add(DELETE_TASK, [{"k_instance_id": iid, "k_id": str(t)} for t in deleted])


def _inbox_changes(w: _Write, writes, deleted, outcome: StepOutcome, policy: TaskPolicy) -> None:
    """Inbox rows: close those whose task left READY (or the tree), open one per new READY human task."""
    live, now = w.live, w.now
    new_human, closed = [], []
    for x in writes:
        task, tid = x.task, str(x.task.id)
        if tid in live.human and task.state != TaskState.READY:
            status = human_tasks.closing_status(task)
            closed.append((tid, status))
            live.human.pop(tid)
            if status == "cancelled":
                w.effects.append(history.NewEvent("task_cancelled", task_id=tid, element_id=task.task_spec.bpmn_id))
        elif task.state == TaskState.READY and tid not in live.human and human_tasks.is_human(task):
            new_human.append(task)
    for tid in deleted:
        if str(tid) in live.human:
            closed.append((str(tid), outcome.closed_as.get(str(tid), "cancelled")))
            live.human.pop(str(tid))
    if closed:
        w.add(CLOSE_HUMAN, [{"k_id": tid, "p_status": status, "p_completed_at": now,
                             "p_completed_by": outcome.completed_by.get(tid) if status != "cancelled" else None}
                            for tid, status in closed])
    if new_human:
        rows = [human_tasks.new_row(t, live.id, live.version.process_key, live.version.lanes, now, policy,
                                    live.version.confidential, live.header.get("started_by"))
                for t in new_human]
        for r in rows:
            if r["id"] in outcome.assign:      # sent back or withdrawn: to whom did it before
                r.update(assignee=outcome.assign[r["id"]], claimed_at=now)
        fresh = [_params(r) for r in rows if r["id"] not in outcome.reopened]
        again = [{"k_id": r["id"], **_params({k: v for k, v in r.items() if k != "id"})}
                 for r in rows if r["id"] in outcome.reopened]     # a failed human task, retried
        if fresh:
            w.add(INSERT_HUMAN, fresh)
        if again:
            w.add(REOPEN_HUMAN, again)
        # a task for someone in particular (its assignee, or its lane's role), not taken by oneself
        w.new_tasks += [r for r in rows if (r["id"] not in outcome.reopened or r["id"] in outcome.assign)
                        and (r["assignee"] or r["candidate_role"]) and r["assignee"] != outcome.actor]
        for r in rows:
            live.human[r["id"]] = r
            w.effects.append(history.NewEvent("task_ready", task_id=r["id"], element_id=r["element_id"], data={
                "name": r["name"], "lane": r["lane"], "role": r["candidate_role"],
                "department": r["candidate_department"], "form_key": r["form_key"],
                "due_at": r["due_at"].isoformat() if r["due_at"] else None}))


def _timer_changes(w: _Write, writes, deleted, policy: TaskPolicy) -> None:
    """The timer index: arm new waiting timers, move re-armed cycles, drop fired or cancelled ones —
    and note each timer that fired."""
    live, now = w.live, w.now
    new, moved, gone = [], [], []
    for x in writes:
        task, tid, state = x.task, x.task.id, x.task.state
        if not is_timer(task):
            continue
        old = live.timers.get(tid)
        if state == TaskState.WAITING:
            due = timer_due(task)
            if due is not None and old is None:
                new.append((task, due))
            elif due is not None and old != due:
                moved.append((task, due, old))
        elif old is not None:
            gone.append(str(tid))
            live.timers.pop(tid)
            # a gateway also completes when its other event comes first: only a due one fired
            gateway = not isinstance(task.task_spec.event_definition, TimerEventDefinition)
            if state == TaskState.COMPLETED and (not gateway or old < now):
                w.fired.append(_timer_fired(task, old, now))
    for tid in deleted:
        if tid in live.timers:
            gone.append(str(tid))
            live.timers.pop(tid)
    if gone:
        w.add(DELETE_TIMER, [{"k_task_id": t} for t in gone])
    for task, due, old in moved:  # a cycle timer fired and re-armed
        w.add(MOVE_TIMER, {"k_task_id": str(task.id), "p_due_at": due, "p_lease_owner": None, "p_lease_until": None})
        live.timers[task.id] = due
        if old <= now:
            w.fired.append(_timer_fired(task, old, now))
    if new:
        w.add(INSERT_TIMER, [
            {"p_task_id": str(t.id), "p_instance_id": live.id, "p_element_id": t.task_spec.bpmn_id,
             "p_kind": type(t.task_spec.event_definition).__name__, "p_due_at": due, "p_armed_at": now,
             **_timer_rule(policy, t, now, due), "p_lease_owner": None, "p_lease_until": None}
            for t, due in new])
        for t, due in new:
            live.timers[t.id] = due


def _incidents(w: _Write, writes, outcome: StepOutcome) -> None:
    """An incident for each task that failed in this operation. A failure that left no task in
    error is refused rather than written: the instance must never look done (see stepping)."""
    live = w.live
    for x in writes:
        task = x.task
        if task.state == TaskState.ERROR and str(task.id) not in live.incidents:
            _open_incident(w, task, outcome.error)
    if outcome.error is not None and not live.incidents:
        raise Invalid(f"the process cannot go on: {describe(outcome.error)}",
                      [Problem(describe(outcome.error), code="engine_error")])


def _open_incident(w: _Write, task, err) -> None:
    line = getattr(err, "line_number", None)
    line = line if isinstance(line, int) else None
    message = _error_message(err, task)
    inc = {"instance_id": w.live.id, "task_id": str(task.id), "element_id": task.task_spec.bpmn_id,
           "message": message, "script_line": line, "created_at": w.now}
    w.add(incident.insert(), [inc])   # rare: the ordinary (unprepared) path
    w.live.incidents[str(task.id)] = dict(inc, id=None, resolved_at=None, resolved_by=None)
    w.effects.append(history.NewEvent("instance_errored", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                                      data={"message": message, "line": line}))


def _status(live: LiveInstance, frontier) -> bool:
    """The instance's status after the operation; whether it ended just now."""
    live.frontier = frontier
    store.remember_frontier(live.wf, frontier)
    old = live.status
    if live.incidents:
        live.status = "error"
    elif not frontier:
        live.status = "completed" if live.wf.success else "cancelled"
    else:
        live.status = "active"
    return live.status in ("completed", "cancelled") and old != live.status


def _history(w: _Write, outcome: StepOutcome, frontier, ended: bool) -> list:
    """The operation's events in their recorded order: inputs, timers fired, effects, the end."""
    live = w.live
    if ended:
        w.effects.append(history.NewEvent(f"instance_{live.status}", data={
            "data": spiff.registry.convert(spiff.registry.clean(live.wf.data))}))
    # Timers that fired together are recorded oldest first (then by element): an order that does not
    # depend on task ids, so that a replay records them alike.
    w.fired.sort(key=lambda e: (e.data["due_at"], e.element_id or ""))
    events = outcome.events + w.fired + outcome.effects + w.effects
    if events:
        # The first (input) event records the state it led to, so that a replay can check it.
        first = events[0]
        first.data = dict(first.data, after={"status": live.status, "active": sorted(
            t.task_spec.bpmn_id for t in frontier
            if t.state != TaskState.STARTED and getattr(t.task_spec, "bpmn_id", None))})
    for ev in events:
        if ev.actor is None:
            ev.actor = outcome.actor
    outcome.recorded = events
    return events


def _write_batch(conn, live: LiveInstance, w: _Write, events: list, ended: bool, *, new_row, guard, final,
                 also) -> None:
    """One batch, instance row first: it is the lock and the optimistic revision check."""
    iid, now = live.id, w.now
    shell = store.workflow_shell(live.wf)
    unfinished = store.frontier_text(live.snap)
    stored = history.state_digest(shell, live.status, unfinished)
    if not events and stored != live.stored_state:
        # The stored state changes without an event: a `state_saved` event seals it, so that the chain
        # covers every state the instance is written with (`engine.audit.verify.verify_states`).
        events = [history.NewEvent("state_saved", actor=None)]
    rows, seq, head = history.chain_rows(iid, iid, live.event_seq, live.event_head, now, events,
                                         state=(shell, live.status, unfinished))
    if ended:
        live.header["ended_at"] = now
    values = {"revision": live.revision + 1, "status": live.status, "updated_at": now,
              "ended_at": live.header.get("ended_at"), "event_seq": seq, "event_head": head,
              "workflow_json": shell}
    batch = [(INSERT_INSTANCE, _params({**new_row, **values})) if new_row is not None else
             (UPDATE_INSTANCE, {"k_id": iid, "k_revision": live.revision, **_params(values)})]
    if guard is not None:
        batch.insert(0, guard)
    batch += [(stmt, params) for stmt, params in w.statements if isinstance(stmt, Prepared)]
    if rows:
        batch.append((INSERT_EVENT, [_params(r) for r in rows]))
    batch += also or ()
    try:
        run_all(conn, batch, guard_first=new_row is None or guard is not None,
                final=final and all(isinstance(stmt, Prepared) for stmt, _ in w.statements))
    except GuardFailed:
        if new_row is not None:
            raise StaleVersion() from None
        raise ConcurrentUpdate(f"instance {iid} was changed by someone else meanwhile; reload and try again") from None
    except Exception:
        # On PostgreSQL the batch is one statement: a stale writer's guard finds no row, but its
        # events then collide with the other writer's (unique chain, seq) and the statement fails
        # before any count comes back. Tell that case apart by the revision, read afresh.
        if new_row is None and _revision_moved(conn, iid, live.revision):
            raise ConcurrentUpdate(f"instance {iid} was changed by someone else meanwhile; "
                                   "reload and try again") from None
        raise
    for stmt, params in w.statements:
        if not isinstance(stmt, Prepared):
            conn.execute(stmt, params)
    live.revision += 1
    live.event_seq, live.event_head = seq, head
    live.stored_state = stored


def _revision_moved(conn, instance_id: str, revision: int) -> bool:
    """Whether the committed revision of an instance is no longer `revision` (own connection:
    the caller's transaction has failed)."""
    try:
        with conn.engine.connect() as other:
            current = other.execute(sa.select(process_instance.c.revision)
                                    .where(process_instance.c.id == instance_id)).scalar()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        return False
    return current is not None and current != revision


# Only an expression naming a calendar helper can compute a deadline worth a rule: any other (an ISO
# duration, a date from the data) is not evaluated a second time.
_CALENDAR_HELPERS = ("working_days", "monthly")
# The moment Spiff armed a timer at may lie up to this far from the deadline its expression computed:
# a duration timer is armed in whole seconds from its own reading of the clock (engine.runtime.scripts).
_ARMING_SLACK = timedelta(minutes=1)


def _timer_rule(policy: TaskPolicy, task, now, due: datetime) -> dict:
    """The calendar rule a timer was written with (to recompute it) and whether it is provisional:
    a rule by itself (`working_days(15)`), or the one a script helper computed
    (`working_days_from(received_on, 15)`: its self-contained rule), through `Deadlines.due`."""
    expression = (getattr(timer_definition(task), "expression", "") or "").strip()
    if not any(name in expression for name in _CALENDAR_HELPERS):
        return {"p_rule": None, "p_provisional": False}

    def evaluate(text):
        policy.evaluate(task, text)      # run for the deadlines it records; Spiff's own moment is the due
        return due
    try:
        d = policy.deadlines.due(expression, now, evaluate, slack=_ARMING_SLACK)
    except Exception:  # noqa: BLE001 - Spiff evaluated it a moment ago; if it fails now, keep no rule
        return {"p_rule": None, "p_provisional": False}
    return {"p_rule": d.rule, "p_provisional": d.provisional}


def _timer_fired(task, due: datetime, now: datetime) -> history.NewEvent:
    return history.NewEvent("timer_fired", task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                            data={"due_at": due.isoformat(), "clock": now.isoformat()})


def _error_message(err, task) -> str:
    if err is None:
        return f"task {task.task_spec.bpmn_id} failed"
    return describe(err)
