"""Comments, attachments and reporters' identity rows checked against the `records` chain
(`engine.history.record_row`): each row's digest is recomputed — an attachment's from its content,
not from the stored `sha256` — and compared with the digest its event holds. A row edited, deleted,
or added without its event (after the chain began) is a break, found by `audit verify`.
"""
from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa

from engine import history
from engine.db.schema import attachment, clue_reporter, event, task_comment
from engine.history import ChainBreak

_KINDS = {"comment_added": "comment", "attachment_added": "attachment", "reporter_stored": "reporter"}


def verify_records(conn) -> tuple[int, list[ChainBreak]]:
    """(rows checked, breaks)."""
    recorded: dict[tuple[str, str], tuple[int, str]] = {}
    began = None
    for seq, type_, at, data_json in conn.execute(
            sa.select(event.c.seq, event.c.type, event.c.at, event.c.data_json)
            .where(event.c.chain == history.RECORDS_CHAIN).order_by(event.c.seq)):
        began = began or at
        kind = _KINDS.get(type_)
        if kind:
            data = json.loads(data_json)
            recorded[(kind, str(data["row"]))] = (seq, data["digest"])
    # key -> (digest under an algorithm, when the row was written); each recorded digest names its own
    # algorithm (`history.digest_alg`): SHA-256 and SM3 records verify alike.
    found: dict[tuple[str, str], tuple[object, object]] = {}
    for r in conn.execute(sa.select(task_comment)):
        found[("comment", str(r.id))] = (lambda alg, m=r._mapping: history.comment_digest(m, alg), r.created_at)
    for r in conn.execute(sa.select(attachment)):
        content_hash = hashlib.sha256(bytes(r.content)).hexdigest()
        found[("attachment", str(r.id))] = (
            lambda alg, m=r._mapping, c=content_hash: history.attachment_digest(m, c, alg), r.uploaded_at)
    for r in conn.execute(sa.select(clue_reporter)):
        found[("reporter", str(r.instance_id))] = (lambda alg, m=r._mapping: history.reporter_digest(m, alg),
                                                   r.created_at)
    breaks = []
    for key, (seq, digest) in sorted(recorded.items(), key=lambda kv: kv[1][0]):
        row = found.get(key)
        if row is None:
            breaks.append(ChainBreak(history.RECORDS_CHAIN, seq, None, f"the {key[0]} {key[1]} was deleted"))
        elif row[0](history.digest_alg(digest)) != digest:
            breaks.append(ChainBreak(history.RECORDS_CHAIN, seq, None,
                                     f"the {key[0]} {key[1]} differs from what was recorded (edited)"))
    for key, (_digest, created) in sorted(found.items()):
        if key not in recorded and began is not None and created >= began:
            breaks.append(ChainBreak(history.RECORDS_CHAIN, 0, None,
                                     f"the {key[0]} {key[1]} has no event: added behind the application's back"))
    return len(found), breaks
