"""The summary tables of process analytics, kept incrementally.

Each instance has a watermark (`analytics_instance.seq_done`): the last event of its chain already
counted. `refresh` takes the instances whose chain has grown past it, folds their events (up to the
`event_seq` read in the same statement — an instance's events commit together with its `event_seq`,
so none is missed) and adds what is new to the summaries, moving the watermarks in the same
transaction. Two refreshes at once cannot count an event twice: the watermark moves only from the
value read (compare and set), else the whole batch rolls back and the next run takes it.

`rebuild` empties the summaries and folds everything again: the full recomputation the incremental
one must equal (tested).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from engine.db.schema import (analytics_duration, analytics_instance, analytics_step, analytics_variant, event,
                              process_instance, setting, staff)
from engine.db.upsert import add_to, put
from engine.errors import Conflict

from . import fold

BATCH = 500
CURRENT_AS_OF = "analytics_current_as_of"      # setting: the summaries hold every event written before it
TYPES = ("task_ready", "task_claimed", "task_completed", *fold.DROPPED)


class Deltas:
    """What a set of instances adds to the summaries, keyed as the tables are."""

    def __init__(self):
        self.steps: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0, 0.0])
        self.durations: dict[tuple, list] = defaultdict(lambda: [0, 0.0])
        self.variants: dict[tuple, list] = {}

    def add(self, version_id: int, facts, departments: dict[str, str]) -> None:
        for f in facts:
            dept = f.department or departments.get(f.actor or "", "") or ""
            s = self.steps[(version_id, f.day, f.element_id, dept)]
            s[0] += 1
            s[1] += f.due
            s[2] += f.overdue
            s[3] += f.cycle
            s[4] += f.wait
            s[5] += f.work
            for measure in fold.MEASURES:
                seconds = getattr(f, measure)
                d = self.durations[(version_id, f.day, f.element_id, measure, fold.bucket(seconds))]
                d[0] += 1
                d[1] += seconds

    def add_variant(self, version_id: int, day, facts) -> None:
        key, steps_json = fold.variant(facts)
        v = self.variants.setdefault((version_id, day, key), [steps_json, 0])
        v[1] += 1

    def write(self, conn) -> None:
        """Added to the tables in key order (two refreshes at once lock rows in the same order: no deadlock)."""
        add_to(conn, analytics_step, [
            {"version_id": k[0], "day": k[1], "element_id": k[2], "department": k[3], "completed": v[0],
             "with_due": v[1], "overdue": v[2], "cycle_s": v[3], "wait_s": v[4], "work_s": v[5]}
            for k, v in sorted(self.steps.items())], ("completed", "with_due", "overdue", "cycle_s", "wait_s", "work_s"))
        add_to(conn, analytics_duration, [
            {"version_id": k[0], "day": k[1], "element_id": k[2], "measure": k[3], "bucket": k[4], "n": v[0],
             "seconds": v[1]} for k, v in sorted(self.durations.items())], ("n", "seconds"))
        add_to(conn, analytics_variant, [
            {"version_id": k[0], "day": k[1], "variant": k[2], "steps_json": v[0], "n": v[1]}
            for k, v in sorted(self.variants.items())], ("n",))


def _events(conn, heads: dict[str, int]) -> dict[str, list[dict]]:
    """The events analytics reads of these instances, up to each one's `event_seq`, in chain order."""
    found: dict[str, list[dict]] = defaultdict(list)
    ids = sorted(heads)
    for i in range(0, len(ids), 500):
        for r in conn.execute(sa.select(event.c.chain, event.c.seq, event.c.type, event.c.at, event.c.actor,
                                        event.c.task_id, event.c.element_id, event.c.data_json)
                              .where(event.c.chain.in_(ids[i:i + 500]), event.c.type.in_(TYPES))
                              .order_by(event.c.chain, event.c.seq)):
            if r.seq <= heads[r.chain]:
                found[r.chain].append({"seq": r.seq, "type": r.type, "at": r.at, "actor": r.actor,
                                       "task_id": r.task_id, "element_id": r.element_id,
                                       "data": json.loads(r.data_json) if r.type == "task_ready" else {}})
    return found


def departments(conn, usernames) -> dict[str, str]:
    """Each person's department (that of a step whose task named none)."""
    names = sorted({u for u in usernames if u})
    out = {}
    for i in range(0, len(names), 500):
        out.update({r.username: r.department or "" for r in conn.execute(
            sa.select(staff.c.username, staff.c.department).where(staff.c.username.in_(names[i:i + 500])))})
    return out


def refresh(conn, limit: int = BATCH, after: str = "") -> tuple[int, str | None]:
    """Fold into the summaries the events of up to `limit` instances (ids after `after`, in id order)
    written since their watermark; how many instances were brought up to date, and the last id to go
    on after (None: none is left after `after`)."""
    pi, ai = process_instance.c, analytics_instance.c
    rows = conn.execute(
        sa.select(pi.id, pi.process_version_id, pi.event_seq, pi.status, pi.ended_at, ai.seq_done,
                  ai.variant_done, ai.instance_id.label("known"))
        .select_from(process_instance.outerjoin(analytics_instance, ai.instance_id == pi.id))
        .where(pi.id > after, sa.or_(ai.instance_id.is_(None), pi.event_seq > ai.seq_done))
        .order_by(pi.id).limit(limit)).all()
    if not rows:
        return 0, None
    evts = _events(conn, {r.id: r.event_seq for r in rows})
    facts = {r.id: fold.steps(evts.get(r.id, [])) for r in rows}
    depts = departments(conn, {f.actor for fs in facts.values() for f in fs})
    deltas = Deltas()
    fresh, moved = [], []
    for r in rows:
        done = r.seq_done or 0
        deltas.add(r.process_version_id, [f for f in facts[r.id] if f.seq > done], depts)
        ended = r.status == "completed" and r.ended_at is not None
        if ended and not r.variant_done:
            deltas.add_variant(r.process_version_id, fold.day_of(r.ended_at), facts[r.id])
        if r.known is None:
            fresh.append({"instance_id": r.id, "version_id": r.process_version_id, "seq_done": r.event_seq,
                          "variant_done": ended})
        else:
            moved.append({"k_id": r.id, "k_done": done, "p_done": r.event_seq, "p_variant": ended or r.variant_done})
    if moved:
        stmt = (analytics_instance.update()
                .where(ai.instance_id == sa.bindparam("k_id"), ai.seq_done == sa.bindparam("k_done"))
                .values(seq_done=sa.bindparam("p_done"), variant_done=sa.bindparam("p_variant")))
        for m in moved:          # one by one: a many-row UPDATE's rowcount is not reliable on every driver
            if conn.execute(stmt, m).rowcount != 1:
                raise Conflict("analytics: another refresh moved these watermarks first")
    if fresh:
        try:
            conn.execute(analytics_instance.insert(), fresh)
        except sa.exc.IntegrityError:
            raise Conflict("analytics: another refresh counted these instances first") from None
    deltas.write(conn)
    return len(rows), rows[-1].id


def contribution(conn, instance_ids) -> Deltas:
    """What these instances have added to the summaries so far (to take out those a reader is recused
    from)."""
    ai = analytics_instance.c
    rows = conn.execute(sa.select(ai.instance_id, ai.version_id, ai.seq_done, ai.variant_done,
                                  process_instance.c.ended_at)
                        .join(process_instance, process_instance.c.id == ai.instance_id)
                        .where(ai.instance_id.in_(sorted(instance_ids)))).all()
    evts = _events(conn, {r.instance_id: r.seq_done for r in rows})
    facts = {r.instance_id: fold.steps(evts.get(r.instance_id, [])) for r in rows}
    depts = departments(conn, {f.actor for fs in facts.values() for f in fs})
    deltas = Deltas()
    for r in rows:
        deltas.add(r.version_id, facts[r.instance_id], depts)
        if r.variant_done:
            deltas.add_variant(r.version_id, fold.day_of(r.ended_at), facts[r.instance_id])
    return deltas


def clear(conn) -> None:
    """Empty the summaries and every watermark."""
    for table in (analytics_step, analytics_duration, analytics_variant, analytics_instance):
        conn.execute(table.delete())
    conn.execute(setting.delete().where(setting.c.key == CURRENT_AS_OF))


def mark_current(conn, as_of: datetime) -> None:
    """Record that the summaries hold every event written before `as_of` (a refresh that began then
    found nothing left)."""
    put(conn, setting, {"key": CURRENT_AS_OF, "value": as_of.isoformat()})


def current_as_of(conn) -> datetime | None:
    value = conn.execute(sa.select(setting.c.value).where(setting.c.key == CURRENT_AS_OF)).scalar()
    return datetime.fromisoformat(value) if value else None
