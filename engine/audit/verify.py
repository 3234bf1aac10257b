"""Tamper evidence: recompute every hash chain and compare it with its recorded head.

A *chain* is the hash-linked event history of one instance (or a named log such as the registry,
see `engine.history`). `verify_report` walks the chains in order, streaming rows, and also checks
every deployed process version: its stored BPMN must still hash to its sha256, and that sha256
must be the one the registry chain recorded when it was deployed. Anchors (`engine.audit_anchor`)
extend this to a rewrite of a whole chain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from engine.db.transactions import read_transaction
from engine import history
from engine.audit.records import verify_records
from engine.history import GENESIS, REGISTRY_CHAIN, ChainBreak, event_hash
from engine.db.schema import chain_head, event, process_instance, process_version
from engine.runtime import queries

BATCH = 5000
Progress = Callable[[int, int], None]      # (events checked so far, events in all)


@dataclass
class VerifyReport:
    """What a verification found: counts and every break, each with its chain and position."""

    events: int = 0
    chains: int = 0
    versions: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def to_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "chains": self.chains, "versions": self.versions,
                "breaks": [{"chain": b.chain, "position": b.position, "event_id": b.event_id, "reason": b.reason}
                           for b in self.breaks]}


def verify(db: sa.Engine, instance_id: str | None = None) -> tuple[int, list[ChainBreak]]:
    """Check the chain of one instance, or every chain. Returns (events checked, breaks)."""
    report = verify_report(db, instance_id, check_versions=False)
    return report.events, report.breaks


def verify_report(db: sa.Engine, instance_id: str | None = None, *, progress: Progress | None = None,
                  check_versions: bool = True, chains: list[str] | None = None) -> VerifyReport:
    """Check one instance's chain, the given `chains`, or every chain (and every deployed version)."""
    only = [instance_id] if instance_id else chains
    report = VerifyReport()
    with read_transaction(db, snapshot=True) as conn:     # the heads and the events agree
        heads = _heads(conn, only)
        count_q = sa.select(sa.func.count()).select_from(event)
        if only is not None:
            count_q = count_q.where(event.c.chain.in_(only))
        total = conn.execute(count_q).scalar() or 0
        cols = (event.c.id, event.c.chain, event.c.seq, event.c.type, event.c.at, event.c.actor, event.c.task_id,
                event.c.element_id, event.c.data_json, event.c.prev_hash, event.c.hash, event.c.hash_alg,
                event.c.state_hash)
        q = sa.select(*cols).order_by(event.c.chain, event.c.seq, event.c.id)
        if only is not None:
            q = q.where(event.c.chain.in_(only))
        seen: set[str] = set()
        walker = _ChainWalker(report, heads)
        result = conn.execution_options(yield_per=BATCH).execute(q)
        for rows in result.partitions(BATCH):
            for row in rows:
                walker.feed(row)
            report.events += len(rows)
            if progress is not None:
                progress(report.events, total)
        walker.finish()
        seen = walker.seen
        for chain, (seq, _h) in heads.items():
            if chain not in seen and seq > 0:
                report.breaks.append(ChainBreak(chain, 1, None, f"all {seq} events of this chain are missing"))
        report.chains = len(seen | set(heads))
        report.breaks.extend(verify_states(conn, walker.sealed))
        if check_versions and only is None:
            report.breaks.extend(verify_versions(conn, report))
        if only is None or history.RECORDS_CHAIN in only:
            report.breaks.extend(verify_records(conn)[1])
    if progress is not None and total == 0:
        progress(0, 0)
    return report


def _heads(conn, only: list[str] | None) -> dict[str, tuple[int, str]]:
    q = sa.select(process_instance.c.id, process_instance.c.event_seq, process_instance.c.event_head)
    if only is not None:
        q = q.where(process_instance.c.id.in_(only))
    heads = {r.id: (r.event_seq, r.event_head) for r in conn.execute(q)}
    q = sa.select(chain_head)
    if only is not None:
        q = q.where(chain_head.c.chain.in_(only))
    heads.update({r.chain: (r.seq, r.hash) for r in conn.execute(q)})
    return heads


class _ChainWalker:
    """Checks rows arriving ordered by (chain, seq), one chain at a time, without holding them."""

    def __init__(self, report: VerifyReport, heads: dict):
        self.report, self.heads = report, heads
        self.seen: set[str] = set()
        self.chain = None
        self.sealed: dict[str, tuple] = {}      # instance chain -> (seq, state hash, alg) of its last seal

    def _start(self, chain: str, row) -> None:
        self.finish()
        self.chain, self.prev_hash, self.expected, self.last_seq = chain, GENESIS, 1, 0
        self.seen.add(chain)
        if chain not in self.heads:
            self.report.breaks.append(ChainBreak(chain, 1, row.id, "events of an instance that does not exist"))

    def feed(self, row) -> None:
        if row.chain != self.chain:
            self._start(row.chain, row)
        breaks, chain = self.report.breaks, self.chain
        if row.seq != self.expected:
            kind = ("missing event(s) before this one" if row.seq > self.expected
                    else "duplicate or reordered sequence number")
            breaks.append(ChainBreak(chain, self.expected, row.id, f"expected seq {self.expected}, found {row.seq}: {kind}"))
        if row.prev_hash != self.prev_hash:
            breaks.append(ChainBreak(chain, row.seq, row.id, "previous-hash link does not match the preceding event"))
        if event_hash(row.prev_hash, chain, row.seq, row.type, row.at, row.actor, row.task_id, row.element_id,
                      row.data_json, row.hash_alg, row.state_hash) != row.hash:
            breaks.append(ChainBreak(chain, row.seq, row.id, "content does not match its hash (edited)"))
        if row.state_hash is not None:
            self.sealed[chain] = (row.seq, row.state_hash, row.hash_alg)
        self.prev_hash, self.expected, self.last_seq = row.hash, row.seq + 1, row.seq

    def finish(self) -> None:
        if self.chain is None:
            return
        head = self.heads.get(self.chain)
        if head is not None and (self.last_seq != head[0] or self.prev_hash != head[1]):
            self.report.breaks.append(ChainBreak(
                self.chain, self.last_seq + 1, None,
                f"chain ends at seq {self.last_seq} but its head says seq {head[0]}: events removed or added at the end"))
        self.chain = None


def verify_states(conn, sealed: dict[str, tuple]) -> list[ChainBreak]:
    """Each instance's stored state (its status, its workflow JSON with the process data, and its
    unfinished tasks with their data) must be the one the last sealing event of its chain recorded
    (`history.state_digest`): an instance edited in the database is a break. Instances last written
    before seals existed have none: not flagged."""
    breaks = []
    ids = list(sealed)
    for i in range(0, len(ids), 200):
        for iid, (status, workflow, frontier) in queries.stored_states(conn, ids[i:i + 200]).items():
            seq, recorded, alg = sealed[iid]
            if history.state_digest(workflow, status, frontier, alg) != recorded:
                breaks.append(ChainBreak(iid, seq, None,
                                         "the instance's stored state (data or status) differs from what its "
                                         "chain sealed (edited in the database)"))
    return breaks


def verify_versions(conn, report: VerifyReport | None = None) -> list[ChainBreak]:
    """Every deployed version still hashes to its sha256, and that is the sha256 the registry chain
    recorded at deployment. A break names the chain `version:KEY` and the version number."""
    recorded: dict[int, str] = {}
    for (data_json,) in conn.execute(sa.select(event.c.data_json).where(
            event.c.chain == REGISTRY_CHAIN, event.c.type == "version_deployed")):
        data = json.loads(data_json)
        recorded[data.get("version_id")] = data.get("sha256")
    breaks = []
    n = 0
    for row in conn.execute(sa.select(process_version.c.id, process_version.c.process_key, process_version.c.version,
                                      process_version.c.bpmn_xml, process_version.c.sha256)
                            .order_by(process_version.c.process_key, process_version.c.version)):
        n += 1
        where = f"version:{row.process_key}"
        if hashlib.sha256(row.bpmn_xml.encode("utf-8")).hexdigest() != row.sha256:
            breaks.append(ChainBreak(where, row.version, None, "the stored BPMN no longer matches its sha256 (edited)"))
        if recorded.get(row.id) != row.sha256:
            breaks.append(ChainBreak(where, row.version, None,
                                     "sha256 differs from the one the registry recorded at deployment"))
    if report is not None:
        report.versions = n
    return breaks
