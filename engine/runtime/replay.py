"""Deterministic replay: re-execute an instance from its recorded inputs and check that every
recorded state is reached.

The history of an instance is a sequence of *operations* (a start, a task completed, timers fired,
a retry, a claim...). Each operation wrote its input event first — its data carries `after`, the
status and active elements it led to — then its effects (tasks ready or cancelled, incidents,
phase events, the end). The replay runs the engine's own code (`persist`, which derives
the effects and `after`) on the recorded version, with the clock set to each operation's recorded
time, into a scratch in-memory database, and compares what it writes with what was recorded,
event by event. The first difference is reported with the recorded event's position.

Recorded ids are fed back, never invented: the instance keeps its id; a task the replay creates
takes the recorded id of the event that announced it (so later inputs find it); child instances a
service task started get the recorded child ids (and must match the recorded children's process,
business key and data), and are not started again. Other service operators are not run again —
they may read a database that has moved on — their recorded result (kept with the completed service
task) is used instead. Due dates of user tasks are not compared: they follow the working-day
calendar as it is today.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import clock as clockmod
from engine import history
from engine.runtime import connectors, human_tasks, instances, notes, queries, rewind, store
from engine.deadlines import periodic_starts as schedules
from engine.bpmn import spiff
from engine.db.transactions import read_transaction
from engine.errors import NotFound
from engine.db.schema import event, instance_task, metadata, process_instance
from engine.runtime.persist import persist
from engine.deadlines.policy import TaskPolicy
from engine.runtime.scripts import EngineScripts, script_helpers
from engine.runtime.stepping import Abort, StepLimits, check_due_dates, ready_before, retry_failed, run_engine

NOT_COMPARED = {"task_ready": ("due_at",), rewind.SENT_BACK: ("target_task",)}
# Events on an instance's chain that record something beside the workflow: no step to replay.
RECORDS_ONLY = ("instance_migrated", "migration_requested", "migration_approved", "document_generated",
                "document_pdf_stored", "document_number_voided")
ASSIGNMENT = ("task_claimed", "task_unclaimed", "task_delegated", "task_entrusted", "task_resolved", "task_reassigned",
              "task_reminded",
              "task_escalated")
DEADLINE_STEPS = ("task_reminded", "task_escalated")
REPLAYED_OPERATORS = ("start_instances", "record_event")   # re-run: their effects are checked


@dataclass
class Divergence:
    seq: int            # position of the recorded event where the replay first differs
    type: str
    reason: str
    expected: object = None
    found: object = None

    def __str__(self) -> str:
        return f"event {self.seq} ({self.type}): {self.reason}"


@dataclass
class ReplayResult:
    instance_id: str
    process_key: str
    version: int
    events: int
    operations: int
    divergence: Divergence | None = None

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def to_dict(self) -> dict:
        d = {"instance_id": self.instance_id, "process_key": self.process_key, "version": self.version,
             "events": self.events, "operations": self.operations, "ok": self.ok, "divergence": None}
        if self.divergence is not None:
            d["divergence"] = {"seq": self.divergence.seq, "type": self.divergence.type,
                               "reason": self.divergence.reason,
                               "expected": self.divergence.expected, "found": self.divergence.found}
        return d


class _Diverged(Abort):
    def __init__(self, divergence: Divergence):
        self.divergence = divergence


def replay(engine, instance_id: str) -> ReplayResult:
    """Replay one instance; `engine` gives the database, forms, calendar and registry."""
    with read_transaction(engine.db) as conn:
        row = conn.execute(sa.select(process_instance).where(process_instance.c.id == instance_id)).one_or_none()
        if row is None:
            raise NotFound(f"instance {instance_id} not found", field="instance_id")
        rows = conn.execute(sa.select(event).where(event.c.chain == instance_id).order_by(event.c.seq)).all()
        # A migration moved the instance only where every step behind it is the same in the new version,
        # so the whole history replays on the version it runs on now; the migration itself is no step.
        # Asking for and approving a migration (engine.runtime.migration) are no steps either, nor is
        # sealing a generated document into the chain (engine.documents.sealing).
        started_on = {json.loads(r.data_json).get("from_version_id") for r in rows if r.type == "instance_migrated"}
        rows = [r for r in rows if r.type not in RECORDS_ONLY]
        first = (sa.select(event.c.chain, event.c.data_json).join(process_instance, process_instance.c.id == event.c.chain)
                 .where(process_instance.c.parent_id == instance_id, event.c.seq == 1).order_by(event.c.id))
        children = [(r.chain, json.loads(r.data_json)) for r in conn.execute(first)]
        services = conn.execute(sa.select(instance_task.c.id, instance_task.c.spec_name, instance_task.c.data_json).where(
            instance_task.c.instance_id == instance_id, instance_task.c.state == TaskState.COMPLETED)
            .order_by(instance_task.c.seq)).all()
        version = engine.registry.load(conn, row.process_version_id)
    clock = clockmod.FixedClock(rows[0].at if rows else row.started_at)
    # What the replay runs with, built here: the engine's calendar and leads, its own clock, ids and
    # scripts (service results taken from the record).
    scripts = _replay_scripts()(clock.now, services, engine.connectors,
                                helpers=script_helpers(clock.now, engine.deadlines),
                                limits=engine.script_engine.limits)
    scripts.events_of = _service_events(rows)
    replayer = _Replayer(scripts, clockmod.IdSource(seed=0),
                         TaskPolicy(scripts.evaluate, engine.deadlines, engine.policy.remind_before,
                                    engine.policy.escalate_after), engine.uow.limits)
    result = ReplayResult(instance_id, row.process_key, version.version, len(rows), 0)
    scratch = sa.create_engine("sqlite://")
    try:
        with scratch.begin() as sconn, engine.db.connect() as real:
            metadata.create_all(sconn)
            trans = real.begin()          # operators see the database, and anything they write is undone
            try:
                run = _Run(replayer, clock, sconn, real, row, version, children)
                run.started_on = {version.id} | started_on
                for group in _operations(rows):
                    run.apply(group)
                    result.operations += 1
                run.finish(rows)
            finally:
                trans.rollback()
    except _Diverged as exc:
        result.divergence = exc.divergence
    finally:
        scratch.dispose()
    return result


def _service_events(rows) -> dict[str, list]:
    """Events written by service operators (a phase change, a milestone), by the service task's id."""
    found: dict[str, list] = {}
    for r in rows:
        if r.type in connectors.EVENT_TYPES and r.task_id:
            found.setdefault(r.task_id, []).append((r.type, json.loads(r.data_json)))
    return found


def _operations(rows) -> list[list]:
    """Events grouped by the operation that wrote them: each starts with an input event carrying `after`."""
    groups: list[list] = []
    for r in rows:
        data = json.loads(r.data_json)
        if "after" in data or not groups:
            groups.append([])
        groups[-1].append((r, data))
    return groups


def _replay_scripts():
    class ReplayScripts(EngineScripts):
        """The engine's scripts, with service results taken from the record where they must be."""

        def __init__(self, now, services, operators, **kwargs):
            super().__init__(now, operators, **kwargs)
            self._recorded: dict[str, list] = {}
            for r in services:
                self._recorded.setdefault(r.spec_name, []).append((r.id, r.data_json))
            self.events_of: dict[str, list] = {}     # recorded service task id -> the events it wrote

        def call_service(self, task, operation_name, operation_params):
            if operation_name in REPLAYED_OPERATORS:
                return super().call_service(task, operation_name, operation_params)
            queue = self._recorded.get(task.task_spec.name) or []
            if not queue:
                raise _Diverged(Divergence(0, "service", f"no recorded result of service task "
                                           f"{task.task_spec.bpmn_id} ({operation_name})"))
            recorded_id, raw = queue.pop(0)
            for type_, data in self.events_of.get(str(recorded_id), ()):    # what the operator recorded
                connectors.current().events.append(history.NewEvent(
                    type_, task_id=str(task.id), element_id=task.task_spec.bpmn_id, data=data))
            data = spiff.loads(raw)
            value = data.get(task.task_spec.result_variable)
            return json.dumps(spiff.registry.convert(value), ensure_ascii=False, default=str)
    return ReplayScripts


@dataclass(frozen=True)
class _Replayer:
    """What a replayed operation runs with (the engine's own pieces are not touched)."""

    scripts: object
    ids: object
    policy: TaskPolicy
    limits: StepLimits

    def run(self, wf, **kwargs):
        known = ready_before(wf)
        return run_engine(wf, self.limits, **kwargs) or check_due_dates(wf, self.policy, known)


class _Run:
    """One replay in progress: the live instance in the scratch database, and the id map."""

    def __init__(self, replayer: _Replayer, clock, sconn, real, row, version, children):
        self.replayer, self.clock, self.sconn, self.real = replayer, clock, sconn, real
        self.row, self.version = row, version
        self.children = list(children)          # (id, instance_started data), in creation order
        self.cursor = 0                         # children handed out in the current operation
        self.ids: dict[str, str] = {}           # recorded task id -> replayed task id
        self.live = None

    def apply(self, group) -> None:
        first, data = group[0]
        self.clock.set(first.at)
        now = first.at
        with clockmod.using(self.clock, self.replayer.ids):
            outcome = instances.StepOutcome(now, first.actor)
            op = self._operation(now, first.actor)
            token = connectors.begin(op)
            try:
                self._group = group
                new_row = self._input(first, data, outcome)
                outcome.effects.extend(op.events)
                persist(self.sconn, self.live, outcome, self.replayer.policy, new_row=new_row)
            finally:
                connectors.end(token)
        self._check_children(first, op)
        self._compare(group, outcome.recorded)

    def _operation(self, now, actor) -> connectors.Operation:
        header = self.live.header if self.live is not None else {"process_key": self.row.process_key,
                                                                   "business_key": self.row.business_key}
        return connectors.Operation(self.real, now, actor, self.row.id, header["process_key"], header["business_key"],
                                    self._next_child)

    def _next_child(self) -> str:
        self.cursor += 1
        if self.cursor > len(self.children):
            return f"(not recorded {self.cursor})"
        return self.children[self.cursor - 1][0]

    def _input(self, first, data, outcome) -> dict | None:
        kind = first.type
        given = {k: v for k, v in data.items() if k != "after"}
        if self.live is None:
            if kind != "instance_started":
                raise _Diverged(Divergence(first.seq, kind, "the history does not begin with instance_started"))
            return self._start(first, given, outcome)
        wf = self.live.wf
        if kind == "task_completed":
            task = self._task(first, ready=True)
            outcome.events.append(history.NewEvent(kind, task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                                                   data=given))
            outcome.completed_by[str(task.id)] = first.actor
            task.data.update(spiff.registry.restore(given.get("data") or {}))
            outcome.error = self.replayer.run(wf, first=task.run, submitted=task)
        elif kind == "timer_fired":       # the scheduler's operation: persist records the timers that fired
            outcome.error = self.replayer.run(wf)
        elif kind == "instance_retried":
            failed = [t for t in store.all_tasks(wf) if t.state == TaskState.ERROR]
            outcome.events.append(history.NewEvent(kind, data=given))
            for task in failed:
                self.live.incidents.pop(str(task.id), None)
            outcome.reopened = queries.with_inbox_rows(self.sconn, [str(t.id) for t in failed
                                                                    if human_tasks.is_human(t)])
            known = ready_before(wf)
            outcome.error = (retry_failed(wf, failed, spiff.registry.restore(given.get("data") or {}),
                                          self.replayer.limits) or check_due_dates(wf, self.replayer.policy, known))
        elif kind in ASSIGNMENT:
            task = self._task(first, ready=True)
            outcome.events.append(history.NewEvent(kind, task_id=str(task.id), element_id=first.element_id, data=given))
            # one deadline sweep may both remind and escalate: each is an input of the same operation
            for rec, more in self._group[1:]:
                if rec.type not in DEADLINE_STEPS or rec.task_id != first.task_id:
                    break
                outcome.events.append(history.NewEvent(rec.type, task_id=str(task.id), element_id=rec.element_id,
                                                       data=more))
        elif kind in notes.TYPES:         # nothing changes in the process: the event itself
            mapped = self.ids.get(first.task_id)
            outcome.events.append(history.NewEvent(kind, task_id=mapped, element_id=first.element_id, data=given))
        elif kind in (rewind.SENT_BACK, rewind.WITHDRAWN):
            self._rewind(first, given, outcome)
        elif kind == "deadline_recomputed":
            mapped = self.ids.get(first.task_id)
            task = wf.get_task_from_id(UUID(mapped)) if mapped else self._waiting_timer(first.element_id)
            if task is not None and instances.is_timer(task) and task.state == TaskState.WAITING:
                due = datetime.fromisoformat(given["new"])
                task.internal_data["event_value"] = due.isoformat()
                self.live.timers[task.id] = due
            outcome.events.append(history.NewEvent(kind, task_id=str(task.id) if task is not None else None,
                                                   element_id=first.element_id, data=given))
        else:
            raise _Diverged(Divergence(first.seq, kind, f"an operation of type {kind} cannot be replayed"))
        return None

    def _rewind(self, first, given, outcome) -> None:
        """退回 (from a ready task to the recorded target) or 撤回 (to the withdrawn task itself)."""
        sent_back = first.type == rewind.SENT_BACK
        task = self._task(first, ready=sent_back)
        target = task
        if sent_back:
            mapped = self.ids.get(given.get("target_task"))
            target = self.live.wf.get_task_from_id(UUID(mapped)) if mapped else None
            if target is None or target.state != TaskState.COMPLETED:
                raise _Diverged(Divergence(first.seq, first.type, f"task {given.get('to')} is not done in the replay"))
        outcome.events.append(history.NewEvent(first.type, task_id=str(task.id), element_id=first.element_id,
                                               data=given))
        if sent_back:
            outcome.completed_by[str(task.id)] = first.actor
        rewind.reset_to(self.sconn, self.live, target, given.get("assignee") if sent_back else first.actor,
                        outcome, self.replayer.run, closed_as="sent_back" if sent_back else "withdrawn")

    def _start(self, first, given, outcome) -> dict:
        loaded = self.version
        if given.get("version_id") not in getattr(self, "started_on", {loaded.id}):
            raise _Diverged(Divergence(first.seq, first.type, "recorded version differs from the instance's version",
                                       given.get("version_id"), loaded.id))
        wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=self.replayer.scripts)
        wf.task_tree.data.update(spiff.registry.restore(given.get("data") or {}))
        timer_start = schedules.timer_start(loaded.spec)
        if timer_start is not None and first.actor == "scheduler":   # a scheduled period's start fires at once
            for t in wf.get_tasks(spec_name=timer_start[0]):
                t.internal_data["event_value"] = (first.at - timedelta(microseconds=1)).isoformat()
        row = self.row
        outcome.events.append(history.NewEvent("instance_started", data=given))
        self.live = instances.LiveInstance(row.id, loaded, wf, store.Snapshot(), 0, 0, history.GENESIS, "active",
                                           header={"process_key": row.process_key, "business_key": row.business_key,
                                                   "started_by": row.started_by, "started_at": first.at,
                                                   "ended_at": None, "parent_id": row.parent_id})
        outcome.error = self.replayer.run(wf)
        return {"id": row.id, "process_version_id": loaded.id, "process_key": row.process_key,
                "business_key": row.business_key, "started_by": row.started_by, "started_at": first.at,
                "parent_id": row.parent_id}

    def _task(self, first, ready: bool):
        mapped = self.ids.get(first.task_id)
        task = None
        if mapped is not None:
            try:
                task = self.live.wf.get_task_from_id(UUID(mapped))
            except Exception:   # noqa: BLE001 - reported below
                task = None
        if task is None or (ready and task.state != TaskState.READY):
            raise _Diverged(Divergence(first.seq, first.type,
                                       f"task {first.element_id} is not ready in the replay at this point"))
        return task

    def _waiting_timer(self, element_id):
        for t in store.all_tasks(self.live.wf):
            if t.task_spec.bpmn_id == element_id and t.state == TaskState.WAITING:
                return t
        return None

    def _check_children(self, first, op) -> None:
        self.cursor = 0
        for child in op.children:
            if not self.children:
                raise _Diverged(Divergence(first.seq, first.type, f"the replay starts a {child.process_key} "
                                           "instance that was never started"))
            cid, recorded = self.children.pop(0)
            found = {"process_key": child.process_key, "business_key": child.business_key,
                     "data": spiff.registry.convert(spiff.registry.clean(child.data))}
            expected = {k: recorded.get(k) for k in found}
            if _norm(found) != _norm(expected):
                raise _Diverged(Divergence(first.seq, first.type, f"child instance {cid} differs", expected, found))

    def _compare(self, group, replayed) -> None:
        for i, (rec, data) in enumerate(group):
            if i >= len(replayed):
                raise _Diverged(Divergence(rec.seq, rec.type, "recorded, but the replay did not produce it"))
            ev = replayed[i]
            if ev.type != rec.type or (ev.element_id or None) != (rec.element_id or None):
                raise _Diverged(Divergence(rec.seq, rec.type, "the replay produced a different event here",
                                           {"type": rec.type, "element": rec.element_id},
                                           {"type": ev.type, "element": ev.element_id}))
            if (ev.actor or None) != (rec.actor or None):
                raise _Diverged(Divergence(rec.seq, rec.type, "a different actor", rec.actor, ev.actor))
            if rec.task_id is not None:
                known = self.ids.get(rec.task_id)
                if known is None and ev.task_id is not None:
                    self.ids[rec.task_id] = ev.task_id
                elif known != ev.task_id:
                    raise _Diverged(Divergence(rec.seq, rec.type, "the event concerns another task in the replay"))
            skip = NOT_COMPARED.get(rec.type, ())
            expected = {k: v for k, v in data.items() if k not in skip}
            found = {k: v for k, v in json.loads(history.canonical_json(ev.data)).items() if k not in skip}
            if _norm(expected) != _norm(found):
                key = next((k for k in sorted(set(expected) | set(found)) if _norm(expected.get(k)) != _norm(found.get(k))),
                           None)
                what = "the state it led to differs" if key == "after" else f"its data differs ({key})"
                raise _Diverged(Divergence(rec.seq, rec.type, what, expected.get(key), found.get(key)))
        if len(replayed) > len(group):
            last = group[-1][0]
            extra = replayed[len(group)]
            raise _Diverged(Divergence(last.seq, last.type, f"the replay produced {extra.type} "
                                       f"({extra.element_id or '-'}) after this event, which was not recorded"))

    def finish(self, rows) -> None:
        if self.children:
            cid, recorded = self.children[0]
            last = rows[-1]
            raise _Diverged(Divergence(last.seq, last.type, f"child instance {cid} was started but the replay "
                                       "never started it"))
        if self.live is not None and self.live.status != self.row.status:
            last = rows[-1]
            raise _Diverged(Divergence(last.seq, last.type, "the instance ends in another status",
                                       self.row.status, self.live.status))


def _norm(value) -> str:
    return history.canonical_json(value)

