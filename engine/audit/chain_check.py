"""验证哈希链 from the audit pages: verify every chain (as `qinglian audit verify` does), anchor a
digest of every chain's head, and record both on the anchors chain, so that the page shows who checked
last, when, what was found, and the digest's root to write down.

The check reads in one snapshot; its record (the digest's event and the `chains_verified` event) is
written in one transaction after it. Checking writes nothing else, so a read-only auditor may run it.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime

import sqlalchemy as sa

from engine import history
from engine.audit import anchor, verify
from engine.db.schema import event
from engine.db.transactions import read_transaction, write_transaction
from engine.org.people import Principal

log = logging.getLogger(__name__)

SHOWN_BREAKS = 20
TIMESTAMPED = "digest_timestamped"     # an anchors-chain event: {root, tsa, token, time, serial} or {root, tsa, error}          # the breaks kept in the record; the count is always whole


def run(eng, p: Principal) -> dict:
    """Verify every chain now, anchor a digest, record the result; returns the record."""
    return _check(eng, p.username)[0]


def _check(eng, by: str) -> tuple[dict, dict]:
    report = verify.verify_report(eng.db)
    now = eng.clock.now()
    result = {"ok": report.ok, "events": report.events, "chains": report.chains, "versions": report.versions,
              "break_count": len(report.breaks), "breaks": [str(b) for b in report.breaks[:SHOWN_BREAKS]]}
    with write_transaction(eng.db) as conn:
        digest = anchor.record_digest(conn, now, by=by)
        result["root"] = digest["root"]
        history.append_to_chain(conn, anchor.ANCHOR_CHAIN, now,
                                [history.NewEvent("chains_verified", actor=by, data=result)])
    return {**result, "at": now, "by": by}, digest


def to_sink(eng, sink, *, by: str = "scheduler", tsa_url: str | None = None) -> dict:
    """The scheduled job (`engine.bootstrap.scheduled_jobs`): the same check, recorded the same way
    (the audit page shows it as the last check), and its digest appended as one JSON line to `sink`,
    a file opened for appending only (put it on another machine's share, or make it append-only with
    `chattr +a`). Each line carries the SHA-256 of the line before it, so a line removed or edited in
    the file shows too (`qinglian audit verify --against SINK`). With `tsa_url` (QINGLIAN_TSA_URL) the
    digest is time-stamped (RFC 3161, `engine.audit.timestamp`) and the token stored in the same line;
    a TSA that fails leaves the line without a token but with the reason (and a warning in the log):
    the digest is never lost for want of a stamp."""
    import hashlib
    import os
    from pathlib import Path
    result, digest = _check(eng, by)
    path = Path(sink)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = ""
    if path.exists():
        lines = path.read_bytes().splitlines()
        previous = hashlib.sha256(lines[-1]).hexdigest() if lines else ""
    entry = {"digest": digest, "verified": {"ok": result["ok"], "events": result["events"],
                                            "breaks": result["break_count"]},
             "previous_line_sha256": previous}
    if tsa_url:
        from engine.audit import timestamp
        try:
            entry["timestamp"] = timestamp.stamp(tsa_url, history.canonical_json(digest).encode("utf-8"))
        except timestamp.TimestampError as exc:
            log.warning("the digest could not be time-stamped at %s: %s", tsa_url, exc)
            entry["timestamp"] = {"tsa": tsa_url, "error": str(exc)}
        result["timestamp"] = entry["timestamp"]
        # on the anchors chain too, for the audit page: the stamp's time, or why there is none
        with write_transaction(eng.db) as conn:
            history.append_to_chain(conn, anchor.ANCHOR_CHAIN, eng.clock.now(), [history.NewEvent(
                TIMESTAMPED, actor=by, data={"root": digest["root"], **entry["timestamp"]})])
    line = history.canonical_json(entry)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return result


def last(eng) -> dict | None:
    """The latest recorded check (as `run` returns it), or None if the chains were never checked here."""
    with read_transaction(eng.db) as conn:
        row = conn.execute(sa.select(event.c.at, event.c.actor, event.c.data_json)
                           .where(event.c.chain == anchor.ANCHOR_CHAIN, event.c.type == "chains_verified")
                           .order_by(event.c.seq.desc()).limit(1)).one_or_none()
        if row is None:
            return None
        check = {**json.loads(row.data_json), "at": row.at, "by": row.actor}
        stamp = conn.execute(sa.select(event.c.data_json)
                             .where(event.c.chain == anchor.ANCHOR_CHAIN, event.c.type == TIMESTAMPED)
                             .order_by(event.c.seq.desc()).limit(1)).scalar()
    stamp = json.loads(stamp) if stamp else None
    if stamp is not None and stamp.get("root") == check.get("root"):
        check["timestamp"] = {**stamp, "time": datetime.fromisoformat(stamp["time"]) if stamp.get("time") else None}
    return check
