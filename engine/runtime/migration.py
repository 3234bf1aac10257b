"""Move a running instance to a newer version of its process, when that is safe (`migration_rule`).

SpiffWorkflow has no migration of its own. An instance is stored as task rows by spec name under
its version; when every spec it has completed or waits at is unchanged in the target version, the
same rows load under the target's specs. Migrating points the instance at the target version,
checks that it loads there, and appends an `instance_migrated` event to its chain — one transaction.

Changing who may see or act on the instance (`migration_rule.access_changes`: confidential,
startableBy, lane roles and department rules) is never safe by itself: such a migration is recorded
as a `migration_requested` event and waits until the discipline office approves it
(`approve_migration`: a `migration_approved` event, then the move, in one transaction).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine import history
from engine.runtime import instances, store
from engine.runtime.unit_of_work import lock_instance
from engine.bpmn import migration_rule
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Conflict, NotFound
from engine.permissions import OFFICE, may_list_instance, require
from engine.db.schema import event, process_instance, process_version

MOVABLE = ("active",)


class MigrationNeedsApproval(Conflict):
    """The move would change who may see or act on the instance: requested, awaiting the discipline
    office's approval (`access_changes` say what would change)."""

    code = "migration_needs_approval"


class MigrationRefused(Conflict):
    """The instance cannot move: `obstacles` name the elements that make it unsafe."""

    code = "migration_unsafe"

    def __init__(self, message: str, obstacles: list[migration_rule.Obstacle] = ()):
        super().__init__(message, obstacles=[{"element_id": o.element_id, "process": o.process, "reason": o.reason}
                                             for o in obstacles])
        self.obstacles = list(obstacles)


@dataclass(frozen=True)
class Assessment:
    instance_id: str
    process_key: str
    from_version: int
    to_version: int
    obstacles: list
    access_changes: tuple = ()      # who may see or act would change: the discipline office must approve

    @property
    def safe(self) -> bool:
        return not self.obstacles

    @property
    def needs_approval(self) -> bool:
        return bool(self.access_changes)

    def to_dict(self) -> dict:
        return {"instance_id": self.instance_id, "process_key": self.process_key, "from_version": self.from_version,
                "to_version": self.to_version, "safe": self.safe, "needs_approval": self.needs_approval,
                "access_changes": list(self.access_changes),
                "obstacles": [{"element_id": o.element_id, "process": o.process, "reason": o.reason}
                              for o in self.obstacles]}


def visited(wf) -> dict[tuple[str, str], str]:
    """(process spec name, task spec name) -> COMPLETED or WAITING, for every task done or waited at."""
    found: dict[tuple[str, str], str] = {}
    for task in store.all_tasks(wf):
        key = (task.workflow.spec.name, task.task_spec.name)
        if task.state == TaskState.COMPLETED:
            found[key] = migration_rule.COMPLETED
        elif task.state & store.FRONTIER:
            found.setdefault(key, migration_rule.WAITING)
    return found


def _with_lanes(specs: dict[str, dict], main: str, lanes: dict) -> dict[str, dict]:
    """A lane's role and department rule belong to the tasks in it: moving a task's lane to another
    role changes the task."""
    for ts in specs[main]["task_specs"].values():
        if ts.get("lane"):
            ts["lane_rule"] = lanes.get(ts["lane"])
    return specs


def _specs(version) -> dict[str, dict]:
    return _with_lanes(migration_rule.specs_as_dicts(version.spec, version.subprocess_specs),
                       version.spec.name, version.lanes)


def _check_id(instance_id: str) -> None:
    try:
        UUID(str(instance_id))
    except ValueError:
        raise NotFound(f"instance '{instance_id[:64]}' is not a valid id", field="instance_id") from None


def _assess(conn, eng, row, to_version: int | None):
    if row.status not in MOVABLE:
        raise Conflict(f"实例 {row.id} 状态为 {row.status}，只能迁移运行中的实例", field="instance_id")
    old = eng.registry.load(conn, row.process_version_id)
    target_id = eng.registry.resolve(conn, row.process_key, to_version)
    new = eng.registry.load(conn, target_id)
    if new.version <= old.version:
        raise Conflict(f"实例已在版本 {old.version}，只能迁移到更新的版本", field="to_version")
    live = instances.load(conn, row, old, eng.script_engine)
    found = migration_rule.obstacles(_specs(old), _specs(new), visited(live.wf))
    metas = dict(conn.execute(sa.select(process_version.c.id, process_version.c.meta_json)
                              .where(process_version.c.id.in_((old.id, new.id)))).all())
    access = migration_rule.access_changes(json.loads(metas[old.id]), json.loads(metas[new.id]))
    return Assessment(row.id, row.process_key, old.version, new.version, found, tuple(access)), new


def assess(eng, instance_id: str, to_version: int | None = None) -> Assessment:
    """Whether the instance may move to `to_version` (default: the latest), and if not, why."""
    _check_id(instance_id)
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(process_instance).where(process_instance.c.id == instance_id)).one_or_none()
        if row is None:
            raise NotFound(f"instance {instance_id} not found", field="instance_id")
        return _assess(conn, eng, row, to_version)[0]


def migrate(eng, instance_id: str, *, actor: str, to_version: int | None = None) -> Assessment:
    """Move the instance to `to_version` (default: the latest) or raise MigrationRefused; a move that
    changes who may see or act is recorded as requested and raises MigrationNeedsApproval."""
    _check_id(instance_id)
    requested = None
    with write_transaction(eng.db) as conn:
        row = lock_instance(conn, instance_id)
        verdict, new = _assess(conn, eng, row, to_version)
        _check_safe(conn, eng, row, verdict, new)
        now = eng.clock.now()
        if verdict.needs_approval:
            if _pending(conn, row) != new.id:
                _append(conn, row, now, [history.NewEvent("migration_requested", actor=actor, data={
                    **_move_data(row, verdict, new), "access_changes": list(verdict.access_changes)})])
            requested = verdict
        else:
            _append(conn, row, now, [_migrated(row, verdict, new, actor)], new_version_id=new.id)
    eng.cache.take(instance_id)      # a cached copy runs on the old specs, or has an older chain head
    if requested is not None:
        raise MigrationNeedsApproval(
            "此次迁移会改变谁能查看或办理该实例（" + "；".join(requested.access_changes)
            + "），已提交纪检监察室批准", access_changes=list(requested.access_changes))
    return verdict


def approve_migration(eng, p, instance_id: str) -> Assessment:
    """The discipline office approves the instance's pending migration: a `migration_approved` event
    by the approver, then the move, in one transaction (NotFound when none is pending)."""
    require(p.has(*OFFICE), "只有纪检监察室可以批准改变访问权限的迁移")
    _check_id(instance_id)
    with write_transaction(eng.db) as conn:
        row = lock_instance(conn, instance_id)
        request = _pending_request(conn, row)
        if request is None:
            raise NotFound("该实例没有待批准的迁移", field="instance_id")
        target = conn.execute(sa.select(process_version.c.version)
                              .where(process_version.c.id == request["to_version_id"])).scalar_one()
        verdict, new = _assess(conn, eng, row, target)
        _check_safe(conn, eng, row, verdict, new)
        approval = history.NewEvent("migration_approved", actor=p.username, data={
            **_move_data(row, verdict, new), "access_changes": list(verdict.access_changes),
            "requested_by": request["actor"]})
        _append(conn, row, eng.clock.now(), [approval, _migrated(row, verdict, new, request["actor"])],
                new_version_id=new.id)
    eng.cache.take(instance_id)
    return verdict


def pending_migrations(eng, p) -> list[dict]:
    """Migrations awaiting the discipline office: instance, process, versions, what access would
    change, who asked and when — no starter, no business key."""
    require(p.has(*OFFICE), "只有纪检监察室可以查看待批准的迁移")
    with read_transaction(eng.db) as conn:
        rows = conn.execute(
            sa.select(event.c.instance_id, event.c.seq, event.c.actor, event.c.at, event.c.data_json,
                      process_instance.c.process_version_id)
            .join(process_instance, process_instance.c.id == event.c.instance_id)
            .where(event.c.type == "migration_requested", process_instance.c.status.in_(MOVABLE))
            .order_by(event.c.at, event.c.instance_id, event.c.seq)).all()
    latest: dict[str, dict] = {}
    for r in rows:
        data = json.loads(r.data_json)
        if data["from_version_id"] == r.process_version_id:
            latest[r.instance_id] = {"instance_id": r.instance_id, "requested_by": r.actor, "requested_at": r.at,
                                     **data}
    return list(latest.values())


def _check_safe(conn, eng, row, verdict: Assessment, new) -> None:
    if not verdict.safe:
        raise MigrationRefused(f"实例不能安全迁移到版本 {verdict.to_version}："
                               + "；".join(str(o) for o in verdict.obstacles), verdict.obstacles)
    try:
        instances.load(conn, row, new, eng.script_engine)   # the rows must make sense under the new specs
    except Exception as exc:  # noqa: BLE001 - any failure to rebuild is a refusal, nothing is written
        raise MigrationRefused(f"实例在版本 {verdict.to_version} 下无法恢复：{exc}") from exc


def _move_data(row, verdict: Assessment, new) -> dict:
    return {"process_key": row.process_key, "from_version": verdict.from_version, "to_version": verdict.to_version,
            "from_version_id": row.process_version_id, "to_version_id": new.id}


def _migrated(row, verdict: Assessment, new, actor: str) -> history.NewEvent:
    return history.NewEvent("instance_migrated", actor=actor, data=_move_data(row, verdict, new))


def _append(conn, row, now, events: list, *, new_version_id: int | None = None) -> None:
    """Append `events` to the instance's chain (and point it at `new_version_id`), guarded by its revision."""
    rows, seq, head = history.chain_rows(row.id, row.id, row.event_seq, row.event_head, now, events)
    conn.execute(event.insert(), rows)
    values = dict(revision=row.revision + 1, event_seq=seq, event_head=head, updated_at=now)
    if new_version_id is not None:
        values["process_version_id"] = new_version_id
    done = conn.execute(process_instance.update()
                        .where(process_instance.c.id == row.id, process_instance.c.revision == row.revision)
                        .values(**values)).rowcount
    if done != 1:
        raise Conflict("实例刚被修改，请重试", field="instance_id")


def _pending_request(conn, row) -> dict | None:
    """The instance's latest `migration_requested` event from the version it runs on, if any."""
    for r in conn.execute(sa.select(event.c.actor, event.c.data_json)
                          .where(event.c.chain == row.id, event.c.type == "migration_requested")
                          .order_by(event.c.seq.desc())):
        data = json.loads(r.data_json)
        return dict(data, actor=r.actor) if data["from_version_id"] == row.process_version_id else None
    return None


def _pending(conn, row) -> int | None:
    request = _pending_request(conn, row)
    return request["to_version_id"] if request else None


def running_overview(eng, p, process_key: str, limit: int = 500) -> dict:
    """The running instances of a process as `p` may see them on the versions page: `instances` (id, business
    key, starter, start, status, version; oldest first) for those it may see, and `hidden`, a count per version of the others — a
    confidential process's instances (e.g. disclosures) show only their number to anyone outside its
    roles, whoever edits the process."""
    with read_transaction(eng.db) as conn:
        rows = conn.execute(
            sa.select(process_instance.c.id, process_instance.c.business_key, process_instance.c.started_by,
                      process_instance.c.started_at, process_instance.c.status, process_version.c.version,
                      process_version.c.meta_json)
            .join(process_version, process_version.c.id == process_instance.c.process_version_id)
            .where(process_instance.c.process_key == process_key, process_instance.c.status.in_(("active", "error")))
            .order_by(process_instance.c.started_at, process_instance.c.id).limit(limit)).all()
    shown, hidden = [], {}
    for r in rows:
        if may_list_instance(p, r.started_by, r.meta_json):
            shown.append({k: v for k, v in r._mapping.items() if k != "meta_json"})
        else:
            hidden[r.version] = hidden.get(r.version, 0) + 1
    return {"instances": shown, "hidden": [{"version": v, "count": n} for v, n in sorted(hidden.items())]}
