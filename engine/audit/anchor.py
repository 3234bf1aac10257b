"""Anchors: a digest of every chain's head, kept outside the database, so that even a rewrite of a
whole chain (every hash recomputed, which `verify` alone cannot notice) is found later.

A digest lists (chain, seq, hash) of every chain at a moment and a `root` hash over that list. Keep
it where the database administrator cannot edit it (printed in the audit report, a file on another
machine, an e-mail to the discipline office); `qinglian audit digest` writes one a day. Checking a
later database against it: each chain must still hold the very same hash at the anchored position
(chains only grow). The root of each digest is also appended to the `anchors` chain.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa

from engine import history
from engine.db.transactions import read_transaction, write_transaction
from engine.history import ChainBreak, canonical_json
from engine.db.schema import chain_head, event, process_instance

ANCHOR_CHAIN = "anchors"
FORMAT = "qinglian-digest/1"


def digest_root(chains: dict[str, list]) -> str:
    lines = "\n".join(f"{c} {seq} {h}" for c, (seq, h) in sorted(chains.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def make_digest(db: sa.Engine, now: datetime, *, by: str = "system") -> dict:
    """The heads of every chain now, with their root; the root is recorded on the anchors chain."""
    with write_transaction(db) as conn:
        return record_digest(conn, now, by=by)


def record_digest(conn, now: datetime, *, by: str) -> dict:
    """`make_digest` inside a write transaction of the caller."""
    chains = {r.id: [r.event_seq, r.event_head] for r in conn.execute(
        sa.select(process_instance.c.id, process_instance.c.event_seq, process_instance.c.event_head))
        if r.event_seq > 0}
    chains.update({r.chain: [r.seq, r.hash] for r in conn.execute(sa.select(chain_head))
                   if r.chain != ANCHOR_CHAIN})
    root = digest_root(chains)
    history.append_to_chain(conn, ANCHOR_CHAIN, now, [history.NewEvent(
        "digest_made", actor=by, data={"root": root, "chains": len(chains)})])
    return {"format": FORMAT, "at": now.isoformat(), "root": root, "chains": chains}


def check_digest(db: sa.Engine, digest: dict) -> list[ChainBreak]:
    """Breaks where the database no longer holds what an earlier digest anchored."""
    chains = digest.get("chains")
    if digest.get("format") != FORMAT or not isinstance(chains, dict):
        raise ValueError("not a Qinglian digest (expected format qinglian-digest/1)")
    breaks = []
    if digest_root(chains) != digest.get("root"):
        breaks.append(ChainBreak("digest", 0, None, "the digest file itself was edited: its root does not match"))
    wanted = {(c, int(v[0])): v[1] for c, v in chains.items()}
    found: dict[tuple, str] = {}
    keys = list(wanted)
    with read_transaction(db) as conn:
        for i in range(0, len(keys), 400):
            part = keys[i:i + 400]
            found.update({(r.chain, r.seq): r.hash for r in conn.execute(
                sa.select(event.c.chain, event.c.seq, event.c.hash)
                .where(sa.tuple_(event.c.chain, event.c.seq).in_(part)))})
    for (chain, seq), h in sorted(wanted.items()):
        got = found.get((chain, seq))
        if got is None:
            breaks.append(ChainBreak(chain, seq, None, f"the anchored event (seq {seq}) is gone"))
        elif got != h:
            breaks.append(ChainBreak(chain, seq, None,
                                     f"event {seq} differs from the digest of {digest.get('at')}: the chain was rewritten"))
    return breaks


def digest_json(digest: dict) -> str:
    return canonical_json(digest)


def check_file(db: sa.Engine, text: str) -> list[ChainBreak]:
    """Check a digest file (`qinglian audit digest`) or a whole sink (one JSON line per scheduled
    digest: every line's digest, and the lines' own links)."""
    text = text.strip()
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None                          # several lines: a sink
    if isinstance(whole, dict) and "digest" not in whole:
        return check_digest(db, whole)
    breaks: list[ChainBreak] = []
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        entry = json.loads(line)
        if entry.get("previous_line_sha256", "") != previous:
            breaks.append(ChainBreak("sink", number, None, "a line before this one was removed or edited"))
        previous = hashlib.sha256(line.encode("utf-8")).hexdigest()
        stamped = entry.get("timestamp")
        if stamped and stamped.get("token"):
            from engine.audit import timestamp
            why = timestamp.check_token(stamped, canonical_json(entry["digest"]).encode("utf-8"))
            if why:
                breaks.append(ChainBreak("sink", number, None, why))
        breaks.extend(check_digest(db, entry["digest"]))
    return breaks
