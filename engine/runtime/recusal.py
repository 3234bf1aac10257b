"""回避 (recusal), run time: who is kept out of an instance, for any process that asks.

A process declares, as properties of the `<bpmn:process>`, which of its data name the persons
concerned and which roles it is withheld from:

- `personsConcerned`: data names, comma-separated, each holding a username or a list of usernames
  (e.g. `subject_username,conflicts`);
- `withheldFromRoles`: one data name holding a list of role codes (e.g. a clue about a hospital leader
  is withheld from `leadership_group`).

After every operation `sync` reads those data and records, once each, the persons concerned, the
people related to them (declared relations in `staff_relation` — both ways —, and the head of their
department) and the withheld roles in the `recusal` table, with a `recusal_recorded` event on the
instance's hash chain. A person may also declare a conflict on a task (自行回避: `declare`). A
recusal is never removed: data that later stops naming someone does not let them back in.

Everyone excluded is kept out of every task, candidate list, hand-over target, view, search, count,
report row and export of the instance: the pages ask `is_excluded` / `excluded_persons`, the lists
and ledgers join `not_excluded`, and the engine's own commands (claim, hand over, complete) refuse
an excluded person (`check_person`).
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from engine import history
from engine.db.prepared import Prepared
from engine.db.schema import department, recusal, staff, staff_relation
from engine.errors import Forbidden
from engine.org.people import principal
from engine.runtime import store

PERSONS = "personsConcerned"
WITHHELD = "withheldFromRoles"
KINDS = ("concerned", "related", "declared", "withheld")


@dataclass(frozen=True)
class Exclusions:
    """Who is kept out of one instance: these usernames, and everyone holding one of these roles."""

    usernames: frozenset = frozenset()
    roles: frozenset = frozenset()

    def excludes(self, p) -> bool:
        """`p`: a Principal (a person with roles), or a bare username."""
        if isinstance(p, str):
            return p in self.usernames
        return p.username in self.usernames or bool(self.roles & p.roles)

    def __bool__(self) -> bool:
        return bool(self.usernames or self.roles)

    @classmethod
    def of(cls, rows) -> "Exclusions":
        """From an instance's recusal rows, as (username, role) pairs (either may be None)."""
        rows = list(rows)
        return cls(frozenset(u for u, _ in rows if u), frozenset(r for _, r in rows if r))


# built once, run on the driver, ahead of the caller's write (see Prepared.fetch); a completion reads
# these rows with its other safeguards instead (engine.runtime.door)
_EXCLUDED = Prepared(sa.select(recusal.c.username, recusal.c.role)
                     .where(recusal.c.instance_id == sa.bindparam("p_instance")))


def excluded_persons(conn, instance_id: str) -> Exclusions:
    """Who is kept out of the instance (hand-over and candidate lists ask this)."""
    return Exclusions.of(_EXCLUDED.fetch(conn, {"p_instance": instance_id}, leading=True))


def is_excluded(conn, p, instance_id: str) -> bool:
    return excluded_persons(conn, instance_id).excludes(p)


def not_excluded(instance_column, username, roles):
    """SQL: no recusal of the instance in `instance_column` names `username` or one of `roles`
    (bound parameters or literals) — joined into every list, count and ledger of instances."""
    return ~sa.exists().where(recusal.c.instance_id == instance_column,
                              sa.or_(recusal.c.username == username, recusal.c.role.in_(roles)))


def excluded_instances(conn, p, instance_ids) -> set[str]:
    """Of these instance ids, the ones `p` is kept out of (one query)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return set()
    rows = conn.execute(sa.select(recusal.c.instance_id).where(
        recusal.c.instance_id.in_(ids),
        sa.or_(recusal.c.username == p.username, recusal.c.role.in_(sorted(p.roles) or [""])))).all()
    return {r.instance_id for r in rows}


def check_person(conn, instance_id: str, username: str, *, target: bool = False,
                 found: Exclusions | None = None) -> None:
    """Forbidden when `username` (or one of their roles) is kept out of the instance. `target`: the
    person a task would be handed to; `found`: the instance's exclusions, if already read."""
    if found is None:
        found = excluded_persons(conn, instance_id)
    if not found:
        return
    who = principal(conn, username) if found.roles else None
    if found.excludes(who if who is not None else username):
        raise Forbidden("该同事须回避此事项，不能接手" if target else "你须回避此事项")


# --- recording ---------------------------------------------------------------------------------------

def _names(props: dict, name: str) -> list[str]:
    return [n.strip() for n in (props.get(name) or "").split(",") if n.strip()]


def _values(wf, names: list[str]) -> set[str]:
    """Every string value the data `names` hold anywhere in the instance (a list counts each item)."""
    found: set[str] = set()
    sources = [wf.data, *(t.data for t in store.all_tasks(wf))]
    for data in sources:
        for n in names:
            v = data.get(n)
            for item in (v if isinstance(v, (list, tuple, set)) else [v]):
                if isinstance(item, str) and item.strip():
                    found.add(item.strip())
    return found


def related_to(conn, usernames: set[str]) -> dict[str, str]:
    """The staff related to these persons: declared relations (both ways) and their department's
    head; username -> the person concerned they are related to."""
    related: dict[str, str] = {}
    for r in conn.execute(sa.select(staff_relation.c.username, staff_relation.c.related).where(
            sa.or_(staff_relation.c.username.in_(usernames), staff_relation.c.related.in_(usernames)))):
        if r.username in usernames:
            related.setdefault(r.related, r.username)
        if r.related in usernames:
            related.setdefault(r.username, r.related)
    for r in conn.execute(sa.select(staff.c.username, department.c.head)
                          .join(department, department.c.code == staff.c.department)
                          .where(staff.c.username.in_(usernames), department.c.head.is_not(None))):
        related.setdefault(r.head, r.username)
    return {u: why for u, why in related.items() if u not in usernames}


def sync(conn, live, outcome) -> None:
    """Record the recusals the instance's data now call for (the process's declared data names),
    each once, with an event. Nothing to do for a process that declares none."""
    props = live.version.properties
    persons, withheld = _names(props, PERSONS), _names(props, WITHHELD)
    if not persons and not withheld:
        return
    concerned = _values(live.wf, persons) if persons else set()
    if concerned:
        concerned = {r.username for r in conn.execute(sa.select(staff.c.username)
                                                      .where(staff.c.username.in_(sorted(concerned))))}
    roles = _values(live.wf, withheld) if withheld else set()
    if not concerned and not roles:
        return
    have = excluded_persons(conn, live.id)
    wanted = [(u, None, "concerned", None) for u in sorted(concerned)]
    wanted += [(u, None, "related", why) for u, why in sorted(related_to(conn, concerned).items())] if concerned else []
    wanted += [(None, r, "withheld", None) for r in sorted(roles)]
    for username, role, kind, because in wanted:
        if (username and username in have.usernames) or (role and role in have.roles):
            continue
        record(conn, live.id, outcome, username=username, role=role, kind=kind,
               reason=f"related:{because}" if because else None)
        have = Exclusions(have.usernames | {username} - {None}, have.roles | {role} - {None})


def record(conn, instance_id: str, outcome, *, username=None, role=None, kind: str, reason=None,
           task_id=None, element_id=None) -> None:
    """One recusal row and its event, in the operation's transaction."""
    conn.execute(recusal.insert().values(instance_id=instance_id, username=username, role=role, kind=kind,
                                         reason=reason, recorded_by=outcome.actor, created_at=outcome.now))
    outcome.effects.append(history.NewEvent(
        "conflict_declared" if kind == "declared" else "recusal_recorded", task_id=task_id, element_id=element_id,
        data={k: v for k, v in (("person", username), ("role", role), ("kind", kind), ("reason", reason)) if v}))
