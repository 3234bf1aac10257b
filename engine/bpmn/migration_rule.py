"""When may a running instance move to a newer version of its process? A pure rule over two specs.

An instance is its completed tasks and the tasks it waits at (its frontier); SpiffWorkflow keeps
the tree of those tasks by spec name. Moving it is safe only if every spec it has completed or waits
at is in the new version unchanged — same id, same type, same incoming flows, same settings, and,
for a completed one, the same outgoing flows too — so that every change lies ahead of where the
instance is. A waiting task's outgoing flows are ahead of it and may change. Names and
documentation are labels, not behaviour: renaming a task does not block a migration.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.bpmn import spiff

COMPLETED, WAITING = "completed", "waiting"
_LABELS = frozenset({"bpmn_name", "documentation", "description"})
_AHEAD = frozenset({"outputs", "cond_task_specs", "default_task_spec", "choice"})
_PROCESS_PARTS = ("io_specification", "data_objects", "correlation_keys")


@dataclass(frozen=True)
class Obstacle:
    """One reason a migration is refused: the element (BPMN id) and what changed."""

    element_id: str
    process: str
    reason: str

    def __str__(self) -> str:
        return f"{self.element_id}: {self.reason}"


def specs_as_dicts(spec, subprocess_specs: dict) -> dict[str, dict]:
    """Each process spec of a version (its own and those it calls) as serialized dicts, by name."""
    return {name: spiff.registry.convert(s) for name, s in {spec.name: spec, **subprocess_specs}.items()}


def obstacles(old: dict[str, dict], new: dict[str, dict], visited: dict[tuple[str, str], str]) -> list[Obstacle]:
    """Why the instance cannot move from `old` to `new` specs (empty when it safely can).

    `visited` maps (process spec name, task spec name) to COMPLETED or WAITING for every task of the
    instance that is done or that it waits at (a task both done and waiting again counts as done).
    """
    found: list[Obstacle] = []
    for process in sorted({p for p, _ in visited}):
        if process not in new:
            found.append(Obstacle(process, process, "the process the instance runs in is no longer called"))
            continue
        for part in _PROCESS_PARTS:
            if old.get(process, {}).get(part) != new[process].get(part):
                found.append(Obstacle(process, process, f"the process's {part.replace('_', ' ')} changed"))
    for (process, name), kind in sorted(visited.items()):
        if process not in new:
            continue
        before = old.get(process, {}).get("task_specs", {}).get(name)
        after = new[process]["task_specs"].get(name)
        element = (before or {}).get("bpmn_id") or name
        where = "it has completed" if kind == COMPLETED else "it is waiting at"
        if after is None:
            found.append(Obstacle(element, process, f"removed in the new version, but {where} it"))
            continue
        if before is None:       # should not happen: the instance ran on the old spec
            found.append(Obstacle(element, process, "unknown to the version the instance runs on"))
            continue
        reason = _difference(before, after, kind)
        if reason:
            found.append(Obstacle(element, process, f"{reason} in the new version, and {where} it"))
    return found


def _difference(before: dict, after: dict, kind: str) -> str | None:
    if before.get("typename") != after.get("typename"):
        return f"its type changed ({before.get('typename')} → {after.get('typename')})"
    if sorted(before.get("inputs", [])) != sorted(after.get("inputs", [])):
        return "its incoming flows changed"
    if kind == COMPLETED and (sorted(before.get("outputs", [])) != sorted(after.get("outputs", []))
                              or before.get("cond_task_specs") != after.get("cond_task_specs")):
        return "its outgoing flows changed"
    ignored = _LABELS | {"inputs", "outputs"} | (_AHEAD if kind == WAITING else frozenset())
    changed = sorted(k for k in before.keys() | after.keys()
                     if k not in ignored and before.get(k) != after.get(k))
    if changed:
        return "its settings changed (" + ", ".join(changed) + ")"
    return None


# Who may see or act on an instance: changing any of these between versions is never a safe migration,
# whatever the tasks look like — it needs the discipline office's approval (`engine.runtime.migration`).
ACCESS_PROPERTIES = ("confidential", "startableBy")


def access_changes(old_meta: dict, new_meta: dict) -> list[str]:
    """How two versions' metadata (`process_version.meta_json`, parsed) differ in who may see or act:
    the process's `confidential` and `startableBy` roles, and each lane's role and department rule.
    Empty when they agree."""
    found = []
    old_p, new_p = old_meta.get("process", {}), new_meta.get("process", {})
    for name in ACCESS_PROPERTIES:
        before, after = _roles(old_p.get(name)), _roles(new_p.get(name))
        if before != after:
            found.append(f"{name}: {_show(before)} → {_show(after)}")
    old_l, new_l = old_meta.get("lanes", {}), new_meta.get("lanes", {})
    for lane in sorted(old_l.keys() | new_l.keys()):
        if old_l.get(lane) != new_l.get(lane):
            found.append(f"lane {lane}: {_show_lane(old_l.get(lane))} → {_show_lane(new_l.get(lane))}")
    return found


def _roles(value) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(value.split(",")) if isinstance(value, str) else frozenset(value)


def _show(roles: frozenset[str] | None) -> str:
    return "(none)" if roles is None else ",".join(sorted(roles)) or "(empty)"


def _show_lane(rule: dict | None) -> str:
    if rule is None:
        return "(none)"
    return f"{rule.get('role')}" + (f"@{rule['department']}" if rule.get("department") else "")
