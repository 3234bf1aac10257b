"""The append-only event log and its hash chain.

Every state change of an instance is an event row written in the same transaction as the change.
Each row stores the hash of the previous row of its chain and the hash of its own content, so an
edited, deleted, inserted or reordered row breaks the chain at a position `verify_chain` names.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from engine.db.schema import chain_head, event

GENESIS = "0" * 64
REGISTRY_CHAIN = "registry"

# --- the hash algorithm ----------------------------------------------------------------------------
# SHA-256 by default; SM3 (国密, GB/T 32905) when QINGLIAN_HASH=sm3. Each event records the algorithm
# its hash was made with (`event.hash_alg`, NULL for SHA-256: every event written before the setting
# existed), so one database holds chains of both and `audit verify` reads either.
SHA256, SM3 = "sha256", "sm3"
ALGORITHMS = (SHA256, SM3)
_algorithm = SHA256


def use_algorithm(name: str | None) -> None:
    """Make `name` the algorithm of every event and row digest written from now on (process-wide)."""
    global _algorithm
    name = (name or SHA256).lower()
    if name not in ALGORITHMS:
        raise ValueError(f"unknown hash algorithm {name!r} (sha256 or sm3)")
    _algorithm = name


def algorithm() -> str:
    return _algorithm


def hex_digest(data: bytes, alg: str | None = None) -> str:
    """The hex digest of `data` under `alg` (None: SHA-256)."""
    if alg is None or alg == SHA256:
        return hashlib.sha256(data).hexdigest()
    if alg == SM3:
        from cryptography.hazmat.primitives import hashes
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize().hex()
    raise ValueError(f"unknown hash algorithm {alg!r}")


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def canonical_json(value) -> str:
    return _CANONICAL.encode(value)


@dataclass
class NewEvent:
    type: str
    data: dict = field(default_factory=dict)
    actor: str | None = None
    task_id: str | None = None
    element_id: str | None = None


def event_hash(prev_hash: str, chain: str, seq: int, type_: str, at: datetime, actor, task_id,
               element_id, data_json: str, alg: str | None = None, state_hash: str | None = None) -> str:
    """The hash of one event under `alg` (None: SHA-256). An event that seals its instance's stored
    state (`state_hash`, see `state_digest`) covers it too; one that does not hashes as it always did."""
    parts = [prev_hash, chain, str(seq), type_, at.isoformat(timespec="microseconds"),
             actor or "", task_id or "", element_id or "", data_json]
    if state_hash is not None:
        parts.append("state:" + state_hash)
    return hex_digest("\x1f".join(parts).encode("utf-8"), alg)


def stored_alg(alg: str | None) -> str | None:
    """What `event.hash_alg` holds for `alg`: NULL for SHA-256 (as every older row), else its name."""
    return None if alg in (None, SHA256) else alg


def state_digest(workflow: str, status: str, frontier: str, alg: str | None = None) -> str:
    """The digest of an instance's stored state: its status, its stored workflow (opaque text here, the
    process data with it) and its unfinished tasks' rows with their data (`frontier`, see
    `engine.runtime.store.frontier_text`). The last event of every write carries it."""
    return hex_digest(f"{status}\x1f{workflow}\x1d{frontier}".encode("utf-8"), alg)


def chain_rows(chain: str, instance_id: str | None, seq: int, prev_hash: str, at: datetime,
               events: Iterable[NewEvent], *, state: tuple[str, str, str] | None = None) -> tuple[list[dict], int, str]:
    """Turn new events into rows continuing a chain whose head is (seq, prev_hash), hashed with the
    configured algorithm. `state` (stored workflow, status, frontier): the instance's state after these events,
    sealed by the last of them."""
    rows = []
    alg = _algorithm
    events = list(events)
    for n, ev in enumerate(events, start=1):
        seq += 1
        data_json = canonical_json(ev.data)
        sealed = state_digest(*state, alg) if state is not None and n == len(events) else None
        h = event_hash(prev_hash, chain, seq, ev.type, at, ev.actor, ev.task_id, ev.element_id, data_json,
                       alg, sealed)
        rows.append({
            "chain": chain, "seq": seq, "instance_id": instance_id, "type": ev.type, "at": at,
            "actor": ev.actor, "task_id": ev.task_id, "element_id": ev.element_id,
            "data_json": data_json, "prev_hash": prev_hash, "hash": h,
            "hash_alg": stored_alg(alg), "state_hash": sealed,
        })
        prev_hash = h
    return rows, seq, prev_hash


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    position: int          # 1-based position in the chain where the break was found
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"chain {self.chain} position {self.position} (event {self.event_id}): {self.reason}"


def verify_chain(chain: str, rows: Iterable, head: tuple[int, str] | None = None) -> list[ChainBreak]:
    """Check rows (ordered by seq) of one chain; `head` is the (seq, hash) the chain should end at."""
    breaks: list[ChainBreak] = []
    prev_hash = GENESIS
    expected_seq = 1
    last_seq = 0
    for row in rows:
        if row.seq != expected_seq:
            kind = "missing event(s) before this one" if row.seq > expected_seq else "duplicate or reordered sequence number"
            breaks.append(ChainBreak(chain, expected_seq, row.id, f"expected seq {expected_seq}, found {row.seq}: {kind}"))
        if row.prev_hash != prev_hash:
            breaks.append(ChainBreak(chain, row.seq, row.id, "previous-hash link does not match the preceding event"))
        recomputed = event_hash(row.prev_hash, chain, row.seq, row.type, row.at, row.actor, row.task_id,
                                row.element_id, row.data_json, getattr(row, "hash_alg", None),
                                getattr(row, "state_hash", None))
        if recomputed != row.hash:
            breaks.append(ChainBreak(chain, row.seq, row.id, "content does not match its hash (edited)"))
        prev_hash = row.hash
        expected_seq = row.seq + 1
        last_seq = row.seq
    if head is not None:
        head_seq, head_hash = head
        if last_seq != head_seq or prev_hash != head_hash:
            breaks.append(ChainBreak(chain, last_seq + 1, None,
                                     f"chain ends at seq {last_seq} but its head says seq {head_seq}: events removed or added at the end"))
    return breaks


def append_to_chain(conn, chain: str, at: datetime, events: Iterable[NewEvent]) -> None:
    """Append events to a named chain that belongs to no instance (the registry, an access log);
    its head row is locked for the rest of the transaction."""
    head = conn.execute(sa.select(chain_head).where(chain_head.c.chain == chain).with_for_update()).one_or_none()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    rows, seq, last = chain_rows(chain, None, seq, prev, at, events)
    if not rows:
        return
    conn.execute(event.insert(), rows)
    if head is None:
        conn.execute(chain_head.insert().values(chain=chain, seq=seq, hash=last))
    else:
        conn.execute(chain_head.update().where(chain_head.c.chain == chain).values(seq=seq, hash=last))



# --- rows kept beside the instances' chains --------------------------------------------------------
# Comments, attachments and reporters' identity rows are not events, but each one's digest is: an
# event of the `records` chain written in the transaction that writes the row. `engine.audit.records`
# recomputes every digest from the rows, so an edited, deleted or smuggled-in row is found by
# `audit verify` like an edited event.
RECORDS_CHAIN = "records"


def row_digest(*parts, alg: str | None = None) -> str:
    """The digest over the canonical JSON of a row's parts (datetimes as ISO text, bytes as their
    SHA-256): SHA-256 as plain hex, or under SM3 as `sm3:<hex>` (`alg` None: the configured one), so
    that a recorded digest names its algorithm."""
    alg = alg or _algorithm
    def plain(value):
        if isinstance(value, datetime):
            return value.isoformat(timespec="microseconds")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return hashlib.sha256(bytes(value)).hexdigest()
        return value
    hexed = hex_digest(canonical_json([plain(p) for p in parts]).encode("utf-8"), alg)
    return hexed if alg == SHA256 else f"{alg}:{hexed}"


def digest_alg(recorded: str) -> str:
    """The algorithm a recorded row digest was made with."""
    return recorded.split(":", 1)[0] if ":" in recorded else SHA256


def comment_digest(row, alg: str | None = None) -> str:
    return row_digest(row["instance_id"], row["task_id"], row["author"], row["body"], row["created_at"], alg=alg)


def attachment_digest(row, content_sha256: str, alg: str | None = None) -> str:
    return row_digest(row["instance_id"], row["task_id"], row["field"], row["filename"], row["content_type"],
                      row["size"], content_sha256, row["uploaded_by"], row["uploaded_at"], alg=alg)


def reporter_digest(row, alg: str | None = None) -> str:
    return row_digest(row["instance_id"], row["name_token"], row["contact_token"], row["created_at"], alg=alg)


def record_row(conn, at: datetime, type_: str, *, actor: str | None, instance_id: str, row_id, digest: str) -> None:
    """Put one stored row under the `records` chain."""
    append_to_chain(conn, RECORDS_CHAIN, at, [NewEvent(type_, actor=actor, data={
        "instance_id": instance_id, "row": row_id, "digest": digest})])
