"""加签 at the engine's door: a task whose added signature (`added_signer`, written by
`engine.inbox.signers`) is pending cannot be completed — whichever door the completion came by (the
page, the API, bulk work, or the command line's plain `complete`)."""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.prepared import Prepared
from engine.db.schema import added_signer
from engine.errors import Conflict


# built once, run on the driver: asked inside every completion (ahead of its write, see Prepared.fetch)
_PENDING = Prepared(sa.select(added_signer.c.signer).where(
    added_signer.c.task_id == sa.bindparam("p_task"), added_signer.c.status == "pending").order_by(added_signer.c.id))


def refuse_while_pending(conn, task_id: str) -> None:
    """Conflict naming who has not signed yet."""
    waiting = [r.signer for r in _PENDING.fetch(conn, {"p_task": task_id}, leading=True)]
    if waiting:
        raise Conflict(f"加签人 {'、'.join(waiting)} 尚未签署，暂不能提交", code="signature_pending")
