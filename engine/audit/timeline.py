"""What the audit pages show: an instance's timeline with the diagram state at every step, and a
per-version heatmap of how often each element ran and how long its tasks took.

The functions taking the engine (`search`, `instance_page`, `replay_frames`, `replay_check`,
`heatmap_page`, `grant_access`) are the pages' read models and services: each runs in one transaction of its own
and shows a person only the instances they may see (`engine.audit.visibility`); one they may not
see is `NotFound`, as is an unknown one."""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from SpiffWorkflow.util.task import TaskState

from engine.audit import visibility
from engine.bpmn import xml as bx
from engine.db.schema import event, human_task, instance_task, process_instance, process_version
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import NotFound
from engine.org import people as org
from engine.org.people import Principal

SEARCH_LIMIT = 100

DONE_TYPES = ("task_completed", "timer_fired")


def instance_header(conn, instance_id: str) -> dict:
    row = conn.execute(sa.select(process_instance, process_version.c.version, process_version.c.name,
                                 process_version.c.sha256)
                       .join(process_version, process_version.c.id == process_instance.c.process_version_id)
                       .where(process_instance.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return {k: getattr(row, k) for k in ("id", "process_key", "business_key", "status", "started_by", "started_at",
                                         "ended_at", "parent_id", "version", "name", "sha256", "process_version_id",
                                         "event_seq")}


def events(conn, instance_id: str) -> list[dict]:
    rows = conn.execute(sa.select(event.c.seq, event.c.type, event.c.at, event.c.actor, event.c.task_id,
                                  event.c.element_id, event.c.data_json, event.c.hash)
                        .where(event.c.chain == instance_id).order_by(event.c.seq))
    return [{"seq": r.seq, "type": r.type, "at": r.at, "actor": r.actor, "task_id": r.task_id,
             "element_id": r.element_id, "data": json.loads(r.data_json), "hash": r.hash} for r in rows]


def element_names(bpmn_xml: str) -> dict[str, str]:
    """Every element id the diagram's BPMN declares, with its name ('' when unnamed). An id SpiffWorkflow
    uses that is not here (`Start`, `End`, `…BoundaryEventSplit`) is one of its internal tasks."""
    doc, _problems = bx.load_document("version.bpmn", bpmn_xml.encode("utf-8"))
    if doc is None:
        return {}
    return {el.get("id"): " ".join((el.get("name") or "").split())
            for el in doc.root.iter(f"{{{bx.BPMN_NS}}}*") if el.get("id")}


def readable(evts: list[dict], known: dict[str, str]) -> list[dict]:
    """The events an auditor reads: those of SpiffWorkflow's internal tasks left out."""
    return [e for e in evts if not e["element_id"] or e["element_id"] in known or e["type"] == "instance_errored"]


def frames(evts: list[dict]) -> list[dict]:
    """The diagram after each event: elements done so far, active ones (tokens), failed ones, and the
    element the event concerns."""
    done: set[str] = set()
    active: list[str] = []
    failed: set[str] = set()
    out = []
    for e in evts:
        after = e["data"].get("after")
        if e["type"] in DONE_TYPES and e["element_id"]:
            done.add(e["element_id"])
        if e["type"] == "instance_errored" and e["element_id"]:
            failed.add(e["element_id"])
        if e["type"] == "instance_retried":
            failed.clear()
        if after is not None:
            new_active = list(after.get("active", []))
            done.update(a for a in active if a not in new_active)
            active = new_active
        out.append({"seq": e["seq"], "current": e["element_id"], "active": sorted(active),
                    "done": sorted(done - set(active)), "error": sorted(failed)})
    return out


def heatmap(conn, version_id: int, date_from: datetime | None = None, date_to: datetime | None = None) -> dict:
    """For the instances of one process version started in [date_from, date_to): how many times each
    element ran, and the count, mean and longest duration in hours of its human tasks."""
    pi = process_instance.c
    scope = [pi.process_version_id == version_id]
    if date_from is not None:
        scope.append(pi.started_at >= date_from)
    if date_to is not None:
        scope.append(pi.started_at < date_to)
    ids = sa.select(pi.id).where(*scope)
    n = conn.execute(sa.select(sa.func.count()).select_from(process_instance).where(*scope)).scalar()
    counts = {r.spec_name: r.n for r in conn.execute(
        sa.select(instance_task.c.spec_name, sa.func.count().label("n"))
        .where(instance_task.c.instance_id.in_(ids), instance_task.c.state == TaskState.COMPLETED)
        .group_by(instance_task.c.spec_name))}
    durations: dict[str, dict] = {}
    for r in conn.execute(sa.select(human_task.c.element_id, human_task.c.created_at, human_task.c.completed_at)
                          .where(human_task.c.instance_id.in_(ids), human_task.c.status == "completed")):
        hours = (r.completed_at - r.created_at).total_seconds() / 3600
        d = durations.setdefault(r.element_id, {"n": 0, "total": 0.0, "max": 0.0})
        d["n"] += 1
        d["total"] += hours
        d["max"] = max(d["max"], hours)
    return {"instances": n, "counts": counts,
            "durations": {k: {"n": d["n"], "mean_hours": round(d["total"] / d["n"], 2),
                              "max_hours": round(d["max"], 2)} for k, d in durations.items()}}


# --- the audit pages' read models and services ------------------------------------------------------

def search(eng, p: Principal, q: str = "") -> dict:
    """The newest instances (an id, a process key or part of a business key when `q` is given) that
    `p` may see, at most SEARCH_LIMIT before filtering, and every process version for the heatmaps."""
    pi = process_instance.c
    query = (sa.select(pi.id, pi.process_key, pi.business_key, pi.status, pi.started_by, pi.started_at, pi.event_seq,
                       process_version.c.meta_json)
             .join(process_version, process_version.c.id == pi.process_version_id)
             .order_by(pi.started_at.desc()).limit(SEARCH_LIMIT))
    if q:
        query = query.where(sa.or_(pi.id == q, pi.business_key.contains(q, autoescape=True), pi.process_key == q))
    pv = process_version.c
    with read_transaction(eng.db) as conn:
        rows = conn.execute(query).all()
        seen = visibility.visible(conn, p, rows)
        versions = conn.execute(sa.select(pv.id, pv.process_key, pv.version, pv.name)
                                .order_by(pv.process_key, pv.version)).all()
    return {"rows": [r for r in rows if r.id in seen], "versions": versions}


def _visible_header(conn, p: Principal, instance_id: str) -> dict:
    found = instance_header(conn, instance_id)
    if found["id"] not in visibility.visible_ids(conn, p, [found["id"]]):
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    return found


def header(eng, p: Principal, instance_id: str) -> dict:
    """The instance's header, if `p` may see it."""
    with read_transaction(eng.db) as conn:
        return _visible_header(conn, p, instance_id)


def replay_check(eng, p: Principal, instance_id: str) -> tuple[dict, object]:
    """The header of an instance `p` may see, and its replay from its events compared with its
    stored state (`engine.runtime.replay`, which reads in a transaction of its own)."""
    from engine.runtime import replay
    found = header(eng, p, instance_id)
    return found, replay.replay(eng, instance_id)


def instance_page(eng, p: Principal, instance_id: str) -> dict:
    """An instance's header and timeline, the reporter-access grants made for it, and the directory
    that names the people in them."""
    from engine.clues import reporter_access
    with read_transaction(eng.db) as conn:
        found = _visible_header(conn, p, instance_id)
        known = element_names(_version_xml(conn, instance_id))
        return {"header": found, "events": readable(events(conn, instance_id), known), "elements": known,
                "grants": reporter_access.grants(conn, instance_id), "directory": org.read_directory(conn)}


def _version_xml(conn, instance_id: str) -> str:
    return conn.execute(sa.select(process_version.c.bpmn_xml).join(
        process_instance, process_instance.c.process_version_id == process_version.c.id)
        .where(process_instance.c.id == instance_id)).scalar()


def replay_frames(eng, p: Principal, instance_id: str) -> dict:
    """The instance's diagram and the state of the diagram after each of its events."""
    with read_transaction(eng.db) as conn:
        _visible_header(conn, p, instance_id)
        xml = _version_xml(conn, instance_id)
        known = element_names(xml)
        evts = events(conn, instance_id)
        kept = {e["seq"] for e in readable(evts, known)}
        shown = [{k: ([i for i in v if i in known] if isinstance(v, list) else v) for k, v in f.items()}
                 for f in frames(evts) if f["seq"] in kept]    # one frame a timeline entry, as the page lists them
        return {"xml": xml, "frames": shown, "names": known}


def grant_access(eng, p: Principal, instance_id: str, to: str, reason: str) -> dict:
    """Let `to` see the reporter's identity of an instance `p` may see (recorded in the audit log)."""
    from engine.clues import reporter_access
    with write_transaction(eng.db) as conn:
        _visible_header(conn, p, instance_id)
        return reporter_access.grant_reporter_access(conn, instance_id, p.username, to, eng.clock.now(), reason)


def heatmap_page(eng, p: Principal, version_id: int, date_from: datetime | None = None,
                 date_to: datetime | None = None) -> dict:
    """A process version (NotFound when unknown, or confidential and `p` holds none of its roles)
    and its heatmap over [date_from, date_to)."""
    with read_transaction(eng.db) as conn:
        v = conn.execute(sa.select(process_version).where(process_version.c.id == version_id)).one_or_none()
        confidential = visibility.confidential_roles(v.meta_json) if v is not None else None
        if v is None or (confidential is not None and not p.has(*confidential)):
            raise NotFound(f"process version {version_id} not found", field="version_id")
        data = heatmap(conn, version_id, date_from, date_to)
    known = element_names(v.bpmn_xml)
    data["counts"] = {k: n for k, n in data["counts"].items() if k in known}     # no SpiffWorkflow internals
    data["names"] = {k: known[k] for k in data["counts"]}
    data["legend"] = legend(max(data["counts"].values(), default=0))
    return {"version": v, "data": data}


HEAT_LEVELS = 4


def legend(most: int) -> list[dict]:
    """The heatmap's colour levels: level k holds the elements run more than (k-1)/4 and at most k/4
    of the most-run element's count (as audit-heatmap.js colours them)."""
    if most <= 0:
        return []
    bands = []
    for level in range(1, HEAT_LEVELS + 1):
        low = (level - 1) * most // HEAT_LEVELS + 1
        high = level * most // HEAT_LEVELS
        if high >= low:
            bands.append({"level": level, "from": low, "to": high})
    return bands
