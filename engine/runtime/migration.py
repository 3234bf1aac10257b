"""Move a running instance to a newer version of its process, when that is safe (`migration_rule`).

SpiffWorkflow has no migration of its own. An instance is stored as task rows by spec name under
its version; when every spec it has completed or waits at is unchanged in the target version, the
same rows load under the target's specs. Migrating points the instance at the target version,
checks that it loads there, and appends an `instance_migrated` event to its chain — one transaction.
"""
from __future__ import annotations

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
from engine.permissions import may_list_instance
from engine.db.schema import event, process_instance, process_version

MOVABLE = ("active",)


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

    @property
    def safe(self) -> bool:
        return not self.obstacles

    def to_dict(self) -> dict:
        return {"instance_id": self.instance_id, "process_key": self.process_key, "from_version": self.from_version,
                "to_version": self.to_version, "safe": self.safe,
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
    return Assessment(row.id, row.process_key, old.version, new.version, found), new


def assess(eng, instance_id: str, to_version: int | None = None) -> Assessment:
    """Whether the instance may move to `to_version` (default: the latest), and if not, why."""
    _check_id(instance_id)
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(process_instance).where(process_instance.c.id == instance_id)).one_or_none()
        if row is None:
            raise NotFound(f"instance {instance_id} not found", field="instance_id")
        return _assess(conn, eng, row, to_version)[0]


def migrate(eng, instance_id: str, *, actor: str, to_version: int | None = None) -> Assessment:
    """Move the instance to `to_version` (default: the latest) or raise MigrationRefused."""
    _check_id(instance_id)
    with write_transaction(eng.db) as conn:
        row = lock_instance(conn, instance_id)
        verdict, new = _assess(conn, eng, row, to_version)
        if not verdict.safe:
            raise MigrationRefused(f"实例不能安全迁移到版本 {verdict.to_version}："
                                   + "；".join(str(o) for o in verdict.obstacles), verdict.obstacles)
        try:
            instances.load(conn, row, new, eng.script_engine)   # the rows must make sense under the new specs
        except Exception as exc:  # noqa: BLE001 - any failure to rebuild is a refusal, nothing is written
            raise MigrationRefused(f"实例在版本 {verdict.to_version} 下无法恢复：{exc}") from exc
        now = eng.clock.now()
        ev = history.NewEvent("instance_migrated", actor=actor, data={
            "process_key": row.process_key, "from_version": verdict.from_version, "to_version": verdict.to_version,
            "from_version_id": row.process_version_id, "to_version_id": new.id})
        rows, seq, head = history.chain_rows(row.id, row.id, row.event_seq, row.event_head, now, [ev])
        conn.execute(event.insert(), rows)
        done = conn.execute(process_instance.update()
                            .where(process_instance.c.id == row.id, process_instance.c.revision == row.revision)
                            .values(process_version_id=new.id, revision=row.revision + 1, event_seq=seq,
                                    event_head=head, updated_at=now)).rowcount
        if done != 1:
            raise Conflict("实例刚被修改，请重试", field="instance_id")
    eng.cache.take(instance_id)      # a cached copy runs on the old specs
    return verdict


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
