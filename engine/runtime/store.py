"""Row-per-task persistence of SpiffWorkflow instances, written incrementally.

What is stored: one `instance_task` row per definite task (WAITING, READY, STARTED, finished);
predicted tasks (MAYBE, LIKELY, FUTURE) are never stored — they are re-predicted from the spec
when an instance is loaded. Specs live once per process version, not in instances. After each
step only the tasks that changed are written (`diff`). Loading reads task data only for the
active frontier (unfinished tasks, their parents and children): completed history is not
re-converted.
"""
from __future__ import annotations

import json
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff

NOT_STORED = TaskState.PREDICTED_MASK | TaskState.FUTURE
FINISHED = TaskState.FINISHED_MASK
FRONTIER = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def all_tasks(wf: BpmnWorkflow):
    """Every task of the instance, top workflow first, then subprocesses in creation order."""
    yield from wf.tasks.values()
    for sp in wf.subprocesses.values():
        yield from sp.tasks.values()


# What the database holds of a task: (state, last state change, fingerprint: internal + data JSON of
# an unfinished task, None once finished). A plain tuple of atoms: the garbage collector stops
# tracking it, and every cached instance holds one per task.
StoredTask = tuple


@dataclass
class Snapshot:
    """What the database holds for an instance, kept beside a live workflow to compute diffs."""

    tasks: dict[UUID, StoredTask] = field(default_factory=dict)
    seq: int = 0


@dataclass
class TaskWrite:
    task: Task
    row: dict
    is_new: bool


def _workflow_key(task: Task) -> str | None:
    wf = task.workflow
    return str(wf.parent_task_id) if isinstance(wf, BpmnSubWorkflow) else None


_PROPS = json.JSONEncoder(separators=(",", ":"))


def _task_row(task: Task, internal_json: str, data_json: str) -> dict:
    parent = task._parent
    return {
        "id": str(task.id),
        "workflow_id": _workflow_key(task),
        "parent_id": str(parent) if parent is not None else None,
        "state": task.state,
        "spec_name": task.task_spec.name,
        "props_json": _PROPS.encode({"t": task.last_state_change, "tr": task.triggered, "i": internal_json}),
        "data_json": data_json,
    }


def diff(wf: BpmnWorkflow, snap: Snapshot) -> tuple[list[TaskWrite], list[UUID], list[Task]]:
    """Tasks to insert or update and task ids to delete, so that the rows match `wf`; updates `snap`.

    Also returns the frontier: the stored tasks that are not finished (READY, WAITING, STARTED, ERROR).
    """
    writes: list[TaskWrite] = []
    frontier: list[Task] = []
    seen = 0
    stored = snap.tasks
    for task in all_tasks(wf):
        state = task._state
        if state & NOT_STORED:
            continue
        seen += 1
        old = stored.get(task.id)
        finished = bool(state & FINISHED)
        if not finished or state == TaskState.ERROR:
            frontier.append(task)
        if old is not None and old[2] is None and old[0] == state and old[1] == task.last_state_change:
            continue  # finished and untouched: the common case for history
        internal_json = spiff.dumps(task.internal_data)
        data_json = spiff.dumps(spiff.registry.clean(task.data))
        fingerprint = None if finished else internal_json + "\x00" + data_json
        if old is not None and old == (state, task.last_state_change, fingerprint):
            continue
        writes.append(TaskWrite(task, _task_row(task, internal_json, data_json), old is None))
        stored[task.id] = (state, task.last_state_change, fingerprint)
    deleted = []
    if seen != len(stored):       # every task seen is stored now: any other stored id left the tree
        present = {t.id for t in all_tasks(wf) if not t._state & NOT_STORED}
        deleted = [tid for tid in stored if tid not in present]
    for tid in deleted:
        del stored[tid]
    for w in writes:
        if w.is_new:
            snap.seq += 1
            w.row["seq"] = snap.seq
    return writes, deleted, frontier


def frontier_text(snap: Snapshot) -> str:
    """The stored unfinished tasks — id, state, internal and data JSON, ordered by id — as one text:
    with the workflow shell, what an instance's state seal covers (`engine.history.state_digest`)."""
    # the unfinished ones picked first: a long instance's finished history is not sorted on every write
    unfinished = [(str(tid), st) for tid, st in snap.tasks.items() if st[2] is not None]
    unfinished.sort(key=lambda pair: pair[0])
    return "\x1e".join(f"{tid}\x1f{st[0]}\x1f{st[2]}" for tid, st in unfinished)


def frontier_text_of_rows(rows) -> str:
    """`frontier_text` from `instance_task` rows (id, state, props_json, data_json), as `audit verify` reads them."""
    parts = []
    for r in sorted(rows, key=lambda r: r.id):
        if not r.state & FINISHED:
            parts.append(f"{r.id}\x1f{r.state}\x1f{json.loads(r.props_json)['i']}\x00{r.data_json}")
    return "\x1e".join(parts)


def workflow_shell(wf: BpmnWorkflow) -> str:
    """Workflow-level attributes (not tasks, not specs) of the top workflow and its subprocesses."""

    def attrs(w):
        return {
            "data": spiff.registry.convert(spiff.registry.clean(w.data)),
            "correlations": w.correlations,
            "last_task": str(w.last_task.id) if w.last_task is not None else None,
            "success": w.success,
            "completed": w.completed,
            "root": str(w.task_tree.id),
        }

    top = attrs(wf)
    top["bpmn_events"] = spiff.registry.convert(wf.bpmn_events)
    subs = {}
    for key, sp in wf.subprocesses.items():
        a = attrs(sp)
        a["spec"] = sp.spec.name
        subs[str(key)] = a
    return json.dumps({"top": top, "subprocesses": subs}, cls=spiff._encoder, ensure_ascii=False,
                      separators=(",", ":"))


def needed_data_ids(rows, joins: frozenset[str] = frozenset()) -> set[str]:
    """Ids whose data must be loaded: unfinished or failed tasks, their parents and their children,
    and — for a join still waiting — the parents of its finished siblings, whose data the join
    merges when it fires (SpiffWorkflow's UnstructuredJoin: parallel joins and the process end)."""
    needed: set[str] = set()
    by_id = {}
    waiting_joins = set()
    for r in rows:
        by_id[r.id] = r
    for r in rows:
        if not r.state & FINISHED or r.state == TaskState.ERROR:
            needed.add(r.id)
            if r.parent_id:
                needed.add(r.parent_id)
            if r.spec_name in joins:
                waiting_joins.add(r.spec_name)
    for r in rows:
        if r.parent_id in by_id and not by_id[r.parent_id].state & FINISHED:
            needed.add(r.id)
        if r.spec_name in waiting_joins and r.state & FINISHED and r.parent_id:
            needed.add(r.parent_id)
    return needed


def assemble(spec, subprocess_specs, shell_json: str, rows, data_by_id: dict[str, str],
             script_engine) -> tuple[BpmnWorkflow, Snapshot]:
    """Rebuild a live workflow from stored rows (ordered by seq), then re-predict its future."""
    shell = json.loads(shell_json)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
    workflows = {None: wf}
    snap = Snapshot()
    by_parent: dict[str, list[UUID]] = {}
    created: list[Task] = []
    pending_subs = dict(shell["subprocesses"])

    def workflow_for(key):
        w = workflows.get(key)
        if w is None:
            attrs = pending_subs[key]
            parent_task = wf.get_task_from_id(UUID(key))
            w = BpmnSubWorkflow(wf.subprocess_specs[attrs["spec"]], parent_task.id, wf, deserializing=True)
            wf.subprocesses[parent_task.id] = w
            w.completed_event.connect(parent_task.task_spec._on_subworkflow_completed, parent_task)
            workflows[key] = w
        return w

    for r in rows:
        w = workflow_for(r.workflow_id)
        props = json.loads(r.props_json)
        task = Task(w, w.spec.task_specs[r.spec_name], state=r.state, id=UUID(r.id))
        task._parent = UUID(r.parent_id) if r.parent_id else None
        task.last_state_change = props["t"]
        task.triggered = props["tr"]
        task.internal_data = spiff.loads(props["i"])
        data_json = data_by_id.get(r.id)
        task.data = spiff.loads(data_json) if data_json is not None else {}
        if task._parent is not None:
            by_parent.setdefault(r.parent_id, []).append(task.id)
        finished = bool(r.state & FINISHED)
        fingerprint = None if finished else props["i"] + "\x00" + (data_json or "{}")
        snap.tasks[task.id] = (r.state, task.last_state_change, fingerprint)
        snap.seq = max(snap.seq, r.seq)
        created.append(task)

    for task in created:
        task._children = by_parent.get(str(task.id), [])
        if isinstance(task.task_spec, CatchingEvent) and task.state == TaskState.WAITING:
            wf.event_manager.add_task(task)

    for key, w in workflows.items():
        attrs = shell["top"] if key is None else pending_subs[key]
        w.task_tree = w.tasks[UUID(attrs["root"])]
        w.success = attrs["success"]
        w.completed = attrs["completed"]
        w.correlations = attrs["correlations"]
        w.last_task = w.tasks.get(UUID(attrs["last_task"])) if attrs["last_task"] else None
        w.data = spiff.registry.restore(attrs["data"])
    wf.bpmn_events = spiff.registry.restore(shell["top"].get("bpmn_events", []))

    # Restore predictions (the stored rows hold none) exactly as SpiffWorkflow makes them.
    for task in created:
        if task.state & TaskState.DEFINITE_MASK:
            _predict_future(task)
    return wf, snap


def repredict(frontier: list[Task]) -> None:
    """Make a live workflow's predictions the ones a fresh load would make.

    SpiffWorkflow keeps predictions made while a task was still MAYBE after the task becomes
    definite (a boundary timer's path stays MAYBE while the timer WAITs); a load predicts from
    the current state. Rebuilding predictions after each step keeps the live workflow and the
    stored one identical, so no behaviour depends on whether an instance came from the cache.
    """
    for task in frontier:
        if task.state & TaskState.DEFINITE_MASK:
            if task.children and _canonical_already(task):
                continue
            _predict_future(task)
        elif task.state == TaskState.ERROR:   # a load predicts nothing below a failed task
            for child in task.children:
                if child._state & NOT_STORED:
                    task.workflow._remove_task(child.id)


_DEFAULT_PREDICT = TaskSpec._predict_hook


def _canonical_already(task: Task) -> bool:
    """Cheap test: a plain task's predictions are canonical when none is merely MAYBE/LIKELY.

    A definite task with the default prediction hook predicts FUTURE children; only a task that
    became definite after its children were predicted keeps MAYBE/LIKELY ones. Specs with their
    own hook (gateways, boundary events, multi-instance...) are always rebuilt.
    """
    if type(task.task_spec)._predict_hook is not _DEFAULT_PREDICT:
        return False
    return all(not c._state & TaskState.PREDICTED_MASK for c in task.children)


def _predict_future(task: Task) -> None:
    """(Re)build the predicted children of a definite task, where that is safe.

    Safe when every stored child was triggered (multi-instance children, which SpiffWorkflow's
    sync leaves alone) or there is none; a task with ordinary live children (a boundary event's
    parent) already has all its children, and predicting over them would reset their state.
    """
    children = task.children
    if any(not c._state & NOT_STORED and not c.triggered for c in children):
        return
    for child in children:
        if child._state & NOT_STORED:
            task.workflow._remove_task(child.id)
    task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)


# -- long instances stay flat ------------------------------------------------------------------------
# SpiffWorkflow walks its whole task tree from the root at every engine step, so an instance that
# loops (W2: 500 passes of a user task) costs more with every pass. Everything unfinished hangs
# below a recent ancestor of the frontier: while an operation runs the engine, the workflow's root
# is that ancestor, and finished history above it is not walked. The tree and the rows are not
# changed — parents, history, send-back targets and replay see every task.
KEEP = 40            # ancestors kept above the frontier: a split, a join's branches, a send-back target
_FRONTIERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def remember_frontier(wf, frontier: list) -> None:
    """The unfinished stored tasks after the last write (persist, load)."""
    _FRONTIERS[wf] = list(frontier)


def _iteration_root(wf):
    """A finished ancestor at least KEEP levels above every unfinished task, or None."""
    frontier = _FRONTIERS.get(wf)
    if not frontier or wf.subprocesses:
        return None
    for t in frontier:        # an operation may have reset or removed tasks since: then walk it all
        if wf.tasks.get(t.id) is not t or t._state & FINISHED and t._state != TaskState.ERROR:
            return None
    root = frontier[0]
    for _ in range(KEEP):
        root = root.parent
        if root is None or root.parent is None:
            return None
    if not root._state & FINISHED:
        return None
    for t in frontier[1:]:    # every unfinished task must hang below it
        up = t
        for _ in range(3 * KEEP):
            up = up.parent
            if up is None or up is root:
                break
        if up is not root:
            return None
    return root


@contextmanager
def walking_recent(wf):
    """While the block runs the engine, SpiffWorkflow walks the tree from a recent ancestor of the
    frontier instead of the root (see KEEP)."""
    root = _iteration_root(wf)
    if root is None:
        yield
        return
    whole = wf.task_tree
    wf.task_tree = root
    try:
        yield
    finally:
        wf.task_tree = whole
