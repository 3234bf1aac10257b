"""What the analytics pages and the scheduler call, each in one transaction of its own.

Who sees what follows the audit heatmap's rule: process owners, auditors, the discipline office and
administrators read the analytics of a process version; a confidential process's version is not
found for anyone holding none of the roles it names. Recusal (回避): the instances a reader is kept
out of are taken out of every figure they read (their contribution folded again and subtracted).
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from engine.audit import visibility
from engine.audit.timeline import element_names
from engine.db.schema import process_instance, process_version, recusal
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Conflict, Forbidden, NotFound
from engine.org import people as org
from engine.org.people import Principal
from engine.permissions import may_read_analytics

from . import figures as figs, summary

ROUNDS = 1000      # a refresh stops after this many batches (the next run goes on)


def refresh(eng, rounds: int = ROUNDS) -> int:
    """Fold every event written since the last run into the summaries, batch by batch (each batch one
    transaction); how many instances were brought up to date."""
    began, total, after = eng.clock.now(), 0, ""
    for _ in range(rounds):
        try:
            with write_transaction(eng.db) as conn:
                n, last = summary.refresh(conn, limit=summary.BATCH, after=after)
                if last is None and not after:       # nothing left anywhere: complete as of the start
                    summary.mark_current(conn, began)
        except Conflict:          # another scheduler is doing it
            break
        if last is None:
            if not after:
                break
            after = ""            # once more from the first id: instances that grew meanwhile
            continue
        total += n
        after = last
    return total


def rebuild(eng) -> int:
    """Empty the summaries and fold the whole event log again."""
    with write_transaction(eng.db) as conn:
        summary.clear(conn)
    return refresh(eng, rounds=10 ** 9)


def _readable(conn, p: Principal, version_id: int):
    if not may_read_analytics(p):
        raise Forbidden("只有流程负责人、审计人员、纪检监察室和管理员可以查看流程分析")
    v = conn.execute(sa.select(process_version).where(process_version.c.id == version_id)).one_or_none()
    confidential = visibility.confidential_roles(v.meta_json) if v is not None else None
    if v is None or (confidential is not None and not p.has(*confidential)):
        raise NotFound(f"process version {version_id} not found", field="version_id")
    return v


def versions(eng, p: Principal) -> list:
    """The process versions `p` may read the analytics of, by process and version."""
    if not may_read_analytics(p):
        raise Forbidden("只有流程负责人、审计人员、纪检监察室和管理员可以查看流程分析")
    pv = process_version.c
    with read_transaction(eng.db) as conn:
        rows = conn.execute(sa.select(pv.id, pv.process_key, pv.version, pv.name, pv.meta_json)
                            .order_by(pv.process_key, pv.version)).all()
    out = []
    for r in rows:
        confidential = visibility.confidential_roles(r.meta_json)
        if confidential is None or p.has(*confidential):
            out.append(r)
    return out


def _recused(conn, p: Principal, version_id: int) -> set[str]:
    pi = process_instance.c
    return set(conn.execute(sa.select(recusal.c.instance_id).distinct()
                            .join(process_instance, pi.id == recusal.c.instance_id)
                            .where(pi.process_version_id == version_id,
                                   sa.or_(recusal.c.username == p.username,
                                          recusal.c.role.in_(sorted(p.roles) or [""])))).scalars())


def page(eng, p: Principal, version_id: int, day_from: date | None = None, day_to: date | None = None) -> dict:
    """A process version `p` may read, its figures over the days [day_from, day_to] (completion day of
    a step, end day of an instance; Beijing), the names of its elements and of the departments, and
    the moment the summaries were last complete (every event written before it counted; None: never)."""
    with read_transaction(eng.db, snapshot=True) as conn:
        v = _readable(conn, p, version_id)
        recused = _recused(conn, p, version_id)
        minus = summary.contribution(conn, recused) if recused else None
        found = figs.figures(conn, version_id, day_from, day_to, minus)
        as_of = summary.current_as_of(conn)
        depts = org.departments(conn, active_only=False)
    known = element_names(v.bpmn_xml)
    found["steps"] = {k: s for k, s in found["steps"].items() if k in known}
    return {"version": v, "figures": found, "names": known, "as_of": as_of,
            "departments": {d["code"]: d for d in depts}}
