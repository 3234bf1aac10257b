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


# --- the scheduled anchor: verify, digest, append to a sink outside the database -----------------

VERIFIED = "chains_verified"


def verify_and_record(db: sa.Engine, now: datetime, *, by: str) -> dict:
    """Verify every chain (and the rows under the records chain); the outcome is an event of the
    anchors chain, which the audit page shows as the last verification."""
    from engine.audit.verify import verify_report
    report = verify_report(db)
    outcome = {"ok": report.ok, "events": report.events, "chains": report.chains, "breaks": len(report.breaks)}
    with write_transaction(db) as conn:
        history.append_to_chain(conn, ANCHOR_CHAIN, now, [history.NewEvent(VERIFIED, actor=by, data=outcome)])
    return {**outcome, "at": now.isoformat(), "by": by, "details": report.to_dict()["breaks"][:50]}


def anchor_to_sink(db: sa.Engine, now: datetime, sink, *, by: str = "scheduler") -> dict:
    """The scheduled job: verify, take a digest and append both as one JSON line to `sink`, a file
    opened for appending only (put it on another machine's share, or make it append-only with
    `chattr +a`). Each line carries the SHA-256 of the line before it, so a line removed or edited in
    the file shows too."""
    import os
    from pathlib import Path
    verified = verify_and_record(db, now, by=by)
    digest = make_digest(db, now, by=by)
    path = Path(sink)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = ""
    if path.exists():
        with path.open("rb") as f:
            lines = f.read().splitlines()
        previous = hashlib.sha256(lines[-1]).hexdigest() if lines else ""
    line = canonical_json({"digest": digest, "verified": {k: verified[k] for k in ("ok", "events", "breaks")},
                           "previous_line_sha256": previous})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"root": digest["root"], "verified": verified}


def last_anchors(db: sa.Engine) -> dict:
    """The latest verification and digest events (for the audit page), or None each."""
    with read_transaction(db) as conn:
        def latest(type_):
            row = conn.execute(sa.select(event.c.at, event.c.actor, event.c.data_json)
                               .where(event.c.chain == ANCHOR_CHAIN, event.c.type == type_)
                               .order_by(event.c.seq.desc()).limit(1)).one_or_none()
            return None if row is None else {"at": row.at, "by": row.actor, **json.loads(row.data_json)}
        return {"verified": latest(VERIFIED), "digest": latest("digest_made")}


def verify_now(eng, by: str) -> dict:
    """The audit page's button: verify every chain now, recorded as `by`'s verification."""
    return verify_and_record(eng.db, eng.clock.now(), by=by)


def anchors_page(eng) -> dict:
    return last_anchors(eng.db)


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
        breaks.extend(check_digest(db, entry["digest"]))
    return breaks
