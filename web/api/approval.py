"""The approval operations over a task: 退回 (send back) and 撤回 (withdraw) — the same service calls
as the task page's, which say who may."""
from __future__ import annotations

from flask import g

from engine.inbox import send_back as sending

from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import InstanceSchema, Request, Text, length

bp = api_blueprint("approval", __name__, "Approval operations: send back (退回), withdraw (撤回)")


class SendBackSchema(Request):
    reason = Text(required=True, validate=length(max=2000), metadata={"description": "why (required, shown "
                                                                     "to the earlier performer)"})
    to = Text(load_default=None, validate=length(max=255),
              metadata={"description": "element id of the earlier user task (default: the nearest the process allows)"})


class WithdrawSchema(Request):
    reason = Text(load_default="", validate=length(max=2000))


@bp.route("/tasks/<task_id>/send-back", methods=["POST"])
@token_required()
@bp.arguments(SendBackSchema)
@bp.response(200, InstanceSchema)
@document_errors(400, 404, 409)
def send_back(body, task_id: str):
    """Send a task one may work back to an earlier user task, with a reason (退回)

    The earlier performer gets the task again, their previous submission as a draft; what was done
    after it stays in the history. 409 where the process does not allow it (`sendBack`, `sendBackTo`,
    a return across a parallel split or a multi-instance without `sendBackAcrossBranches`)."""
    return sending.send_back(engine(), g.api_principal, task_id, body["reason"], body.get("to")).to_dict()


@bp.route("/tasks/<task_id>/withdraw", methods=["POST"])
@token_required()
@bp.arguments(WithdrawSchema)
@bp.response(200, InstanceSchema)
@document_errors(400, 404, 409)
def withdraw(body, task_id: str):
    """Take back a task one completed while the next step is unclaimed and untouched (撤回)"""
    return sending.withdraw(engine(), g.api_principal, task_id, body.get("reason")).to_dict()
