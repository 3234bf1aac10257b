"""What the task page shows of the approval operations, in one read: the urges, the copies with
their read receipts, and which operations the person may use."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.db.transactions import read_transaction
from engine.inbox import copies, send_back, signers, urging
from engine.org.people import Principal
from engine.runtime import elements
from engine.runtime.views import HumanTask


@dataclass
class Panel:
    urges: int = 0
    copies: list[dict] = field(default_factory=list)
    can_urge: bool = False
    can_copy: bool = False
    can_withdraw: bool = False
    signers: list[dict] = field(default_factory=list)
    signer_roles: list[str] = field(default_factory=list)   # whom 加签 may add (none: the step allows none)


def panel(engine, p: Principal, task: HumanTask) -> Panel:
    with read_transaction(engine.db) as conn:
        urges = urging.counts(conn, [task.id]).get(task.id, 0)
        declared = elements.element_properties(conn, engine.registry, task.instance_id, task.element_id)
    sent = copies.of_task(engine, task.id)
    return Panel(urges, sent, urging.can_urge(p, task), copies.can_copy(p, task), send_back.can_withdraw(p, task),
                 signers.of_task(engine, task.id), signers.roles_of(declared))
