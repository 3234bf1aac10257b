"""What a completion's safeguards read, in one statement: who is kept out of the instance (回避,
`engine.runtime.recusal`) and who has not signed the task yet (加签, `engine.runtime.signatures`).

A completion is checked twice over — by its caller (the inbox's "may this person work the task",
asked first so that a stranger learns nothing) and by the engine's own door (whatever door the
completion came by) — and both ask the same two questions. The engine reads them once, ahead of
its write (`Prepared.fetch(leading=True)`), and hands the answer to the caller's check and to its
own: from the inbox, one round trip on PostgreSQL where there were four.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from engine.db.prepared import Prepared
from engine.db.schema import added_signer, recusal
from engine.runtime.recusal import Exclusions

_RECUSAL, _SIGNER = "recusal", "signer"

# built once, run on the driver: asked inside every completion
_READ = Prepared(sa.union_all(
    sa.select(sa.literal_column(f"'{_RECUSAL}'").label("kind"), recusal.c.username.label("name"),
              recusal.c.role.label("role"), recusal.c.id.label("n"))
    .where(recusal.c.instance_id == sa.bindparam("p_instance")),
    sa.select(sa.literal_column(f"'{_SIGNER}'"), added_signer.c.signer, sa.cast(sa.null(), sa.String),
              added_signer.c.id)
    .where(added_signer.c.task_id == sa.bindparam("p_task"), added_signer.c.status == "pending"),
).order_by(sa.literal_column("kind"), sa.literal_column("n")))


@dataclass(frozen=True)
class DoorReads:
    """The instance's recusals, and the task's pending added signers in the order they were added."""

    exclusions: Exclusions
    pending_signers: tuple[str, ...]


def read(conn, instance_id: str, task_id: str) -> DoorReads:
    rows = _READ.fetch(conn, {"p_instance": instance_id, "p_task": task_id}, leading=True)
    return DoorReads(Exclusions.of((r.name, r.role) for r in rows if r.kind == _RECUSAL),
                     tuple(r.name for r in rows if r.kind == _SIGNER))
