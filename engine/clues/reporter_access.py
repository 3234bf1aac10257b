"""Reporter identities stay masked for auditors unless the discipline office grants access for a case.

A grant is an event on the hash-chained `reporter-access` chain (tamper-evident like any history),
written by a member of the discipline office for one instance and one colleague. The clue module
asks `has_reporter_grant` before it unmasks a reporter for an auditor; identities themselves never
enter events, timelines or audit packages.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from engine import history
from engine.org import people as org
from engine.errors import Forbidden, Invalid, NotFound, Problem
from engine.db.schema import event, process_instance
from engine.permissions import may_handle_clues

GRANT_CHAIN = "reporter-access"
GRANTED = "reporter_access_granted"


def grant_reporter_access(conn, instance_id: str, by: str, to: str, now: datetime, reason: str = "") -> dict:
    """Let `to` see the reporter's identity of `instance_id`; `by` must be in the discipline office."""
    granter = org.principal(conn, by)
    if granter is None or not may_handle_clues(granter):
        raise Forbidden("只有纪检监察室可以授权查看举报人信息")
    if conn.execute(sa.select(process_instance.c.id).where(process_instance.c.id == instance_id)).first() is None:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    problems = []
    if org.principal(conn, (to or "").strip()) is None:
        problems.append(Problem("请选择在职的同事", field="to", code="unknown_staff"))
    if not (reason or "").strip():
        problems.append(Problem("请填写授权理由", field="reason", code="required"))
    if problems:
        raise Invalid("授权信息有误：" + "；".join(p.message for p in problems), problems)
    data = {"instance_id": instance_id, "to": to.strip(), "reason": reason.strip()}
    history.append_to_chain(conn, GRANT_CHAIN, now, [history.NewEvent(GRANTED, actor=by, data=data)])
    return dict(data, by=by, at=now)


def grants(conn, instance_id: str) -> list[dict]:
    """Every grant made for an instance, oldest first."""
    out = []
    for r in conn.execute(sa.select(event.c.at, event.c.actor, event.c.data_json)
                          .where(event.c.chain == GRANT_CHAIN, event.c.type == GRANTED).order_by(event.c.seq)):
        data = json.loads(r.data_json)
        if data.get("instance_id") == instance_id:
            out.append({"at": r.at, "by": r.actor, "to": data.get("to"), "reason": data.get("reason")})
    return out


def has_reporter_grant(conn, instance_id: str, username: str) -> bool:
    return any(g["to"] == username for g in grants(conn, instance_id))
