"""Which process instances a person may look at on the audit pages, decided for a whole list at once.

The rule is the inbox's (`engine.permissions.can_view_instance`): the starter sees their instance; a
confidential process (e.g. a voluntary disclosure) only its starter and the roles it names; auditors,
the discipline office and administrators every other one; anyone else those they hold or held a task
of. Here it runs over rows that already carry `started_by` and the version's `meta_json` (one join in
the query that found them), with at most one more query for the tasks of a non-privileged person —
not a query per row.
"""
from __future__ import annotations

import json

import sqlalchemy as sa

from engine.db.schema import human_task, process_instance, process_version
from engine.permissions import can_view
from engine.org.people import Principal
from engine.permissions import INSTANCE_READERS
from engine.runtime import recusal

# The columns a row needs for `visible`: join them into the query that lists the instances.
COLUMNS = (process_instance.c.started_by, process_version.c.meta_json)


def confidential_roles(meta_json: str | None) -> list[str] | None:
    """The roles a confidential process names, or None for an ordinary one."""
    return json.loads(meta_json or "{}").get("process", {}).get("confidential")


def visible(conn, p: Principal, rows) -> set[str]:
    """The ids of `rows` (each with `id`, `started_by`, `meta_json`) that `p` may see."""
    seen, undecided, parsed = set(), [], {}
    for r in rows:
        if r.meta_json not in parsed:
            parsed[r.meta_json] = confidential_roles(r.meta_json)
        confidential = parsed[r.meta_json]
        if r.started_by == p.username:
            seen.add(r.id)
        elif confidential is not None:
            if p.has(*confidential):
                seen.add(r.id)
        elif p.has(*INSTANCE_READERS):
            seen.add(r.id)
        else:
            undecided.append(r.id)
    if undecided:
        for t in conn.execute(sa.select(human_task).where(human_task.c.instance_id.in_(undecided))):
            if t.instance_id not in seen and can_view(p, t):
                seen.add(t.instance_id)
    return seen - recusal.excluded_instances(conn, p, seen)      # 回避: never shown to those recused


def visible_ids(conn, p: Principal, instance_ids) -> set[str]:
    """Of these instance ids, the ones `p` may see (unknown ids are not seen)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return set()
    rows = conn.execute(sa.select(process_instance.c.id, *COLUMNS)
                        .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                        .where(process_instance.c.id.in_(ids))).all()
    return visible(conn, p, rows)
