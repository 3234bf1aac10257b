"""Tamper evidence: recompute every hash chain and compare it with its recorded head."""
from __future__ import annotations

from itertools import groupby

import sqlalchemy as sa

from .db import read_transaction
from .history import REGISTRY_CHAIN, ChainBreak, verify_chain
from .schema import chain_head, event, process_instance


def verify(db: sa.Engine, instance_id: str | None = None) -> tuple[int, list[ChainBreak]]:
    """Check the chain of one instance, or every chain. Returns (events checked, breaks)."""
    with read_transaction(db) as conn:
        heads = {r.id: (r.event_seq, r.event_head) for r in conn.execute(
            sa.select(process_instance.c.id, process_instance.c.event_seq, process_instance.c.event_head)
            .where(process_instance.c.id == instance_id if instance_id else sa.true()))}
        if instance_id is None:
            heads.update({r.chain: (r.seq, r.hash) for r in conn.execute(sa.select(chain_head))})
        cols = (event.c.id, event.c.chain, event.c.seq, event.c.type, event.c.at, event.c.actor, event.c.task_id,
                event.c.element_id, event.c.data_json, event.c.prev_hash, event.c.hash)
        q = sa.select(*cols).order_by(event.c.chain, event.c.seq, event.c.id)
        if instance_id:
            q = q.where(event.c.chain == instance_id)
        rows = conn.execute(q).all()
    breaks: list[ChainBreak] = []
    seen = set()
    for chain, chain_rows in groupby(rows, key=lambda r: r.chain):
        chain_rows = list(chain_rows)
        seen.add(chain)
        breaks.extend(verify_chain(chain, chain_rows, heads.get(chain)))
        if chain not in heads and chain != REGISTRY_CHAIN:
            breaks.append(ChainBreak(chain, 1, chain_rows[0].id, "events of an instance that does not exist"))
    for chain, (seq, _h) in heads.items():
        if chain not in seen and seq > 0:
            breaks.append(ChainBreak(chain, 1, None, f"all {seq} events of this chain are missing"))
    return len(rows), breaks
