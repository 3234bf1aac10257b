"""The approval operations over a task — 退回 (send back), 撤回 (withdraw), 催办 (urge), 抄送 (copy to) —
and the copies a person received: the same service calls as the task page's, which say who may."""
from __future__ import annotations

import marshmallow as ma
from flask import g

from marshmallow import fields

from engine.inbox import bulk as bulk_actions, copies, send_back as sending, signers, urging

from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import InstanceSchema, JsonObject, Request, TaskSchema, Text, items, length

bp = api_blueprint("approval", __name__,
                   "Approval operations: send back (退回), withdraw (撤回), urge (催办), copy to (抄送)")


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


class UrgeSchema(Request):
    message = Text(load_default="", validate=length(max=500),
                   metadata={"description": "shown to the holder (default: 请尽快办理)"})


class UrgedTaskSchema(TaskSchema):
    urges = fields.Integer(metadata={"description": "how many times the task was urged"})


class CopyRequestSchema(Request):
    to = fields.List(Text(validate=length(max=64)), required=True, validate=items(1, 20),
                     metadata={"description": "usernames of active colleagues"})
    message = Text(load_default="", validate=length(max=500))


class CopySchema(ma.Schema):
    id = fields.Integer()
    task_id = fields.String()
    instance_id = fields.String()
    recipient = fields.String()
    sent_by = fields.String()
    message = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class CopyListSchema(ma.Schema):
    items = fields.List(fields.Nested(CopySchema))


@bp.route("/tasks/<task_id>/urge", methods=["POST"])
@token_required()
@bp.arguments(UrgeSchema)
@bp.response(200, UrgedTaskSchema)
@document_errors(400, 404, 409)
def urge(body, task_id: str):
    """Urge the holder of an open task, with a message (催办; the discipline office or the department's head)"""
    return urging.urge(engine(), g.api_principal, task_id, body.get("message"))


@bp.route("/tasks/<task_id>/copies", methods=["POST"])
@token_required()
@bp.arguments(CopyRequestSchema)
@bp.response(201, CopyListSchema)
@document_errors(400, 404, 409)
def copy(body, task_id: str):
    """Copy a task read-only to colleagues (抄送); a confidential process only to the roles it names"""
    return {"items": copies.copy(engine(), g.api_principal, task_id, body["to"], body.get("message"))}


@bp.route("/copies", methods=["GET"])
@token_required()
@bp.response(200, CopyListSchema)
def my_copies():
    """The copies I received (知会), unread first; reading one is `GET /copies/{id}` on the pages"""
    return {"items": [{k: v for k, v in c.items() if k != "task"} for c in copies.mine(engine(), g.api_principal)]}


class BulkRequestSchema(Request):
    action = Text(required=True, validate=ma.validate.OneOf(["claim", "release", "complete"],
                                                           error="须为 claim、release、complete 之一"))
    task_ids = fields.List(Text(validate=length(max=64)), required=True, validate=items(1, 100))


class BulkResultSchema(ma.Schema):
    task_id = fields.String()
    ok = fields.Boolean()
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class BulkResultListSchema(ma.Schema):
    items = fields.List(fields.Nested(BulkResultSchema))


@bp.route("/tasks/bulk", methods=["POST"])
@token_required()
@bp.arguments(BulkRequestSchema)
@bp.response(200, BulkResultListSchema)
@document_errors(400)
def bulk(body):
    """Claim, release or complete several tasks, each on its own (its own completion and event)

    `complete` gives each task the decision its form declares for bulk work (e.g. 通过 on monthly
    report reviews). One result per task: `ok`, else the `code` and `message` of its refusal."""
    return {"items": [r.to_dict() for r in bulk_actions.run(engine(), g.api_principal, body["action"],
                                                            body["task_ids"])]}


class AddSignerSchema(Request):
    signer = Text(required=True, validate=length(max=64), metadata={"description": "username of a candidate"})
    position = Text(required=True, validate=ma.validate.OneOf(["before", "after"], error="须为 before 或 after"))
    reason = Text(required=True, validate=length(max=2000))
    data = JsonObject(load_default=dict, metadata={"description": "for `after`: the task's form data, kept "
                                                                  "until the signature completes the task"})


class SignatureSchema(ma.Schema):
    id = fields.Integer()
    task_id = fields.String()
    signer = fields.String()
    position = fields.String()
    added_by = fields.String()
    reason = fields.String()
    status = fields.String()
    agree = fields.Boolean(allow_none=True)
    opinion = fields.String(allow_none=True)
    created_at = fields.DateTime()
    signed_at = fields.DateTime(allow_none=True)


class SignersSchema(ma.Schema):
    task_id = fields.String()
    signers = fields.List(fields.Nested(SignatureSchema))


class SignSchema(Request):
    agree = fields.Boolean(required=True)
    opinion = Text(load_default="", validate=length(max=2000))


@bp.route("/tasks/<task_id>/signers", methods=["POST"])
@token_required()
@bp.arguments(AddSignerSchema)
@bp.response(201, SignersSchema)
@document_errors(400, 404, 409)
def add_signer(body, task_id: str):
    """Add a signer before (前加签) or after (后加签) one's own step, among the step's candidates

    409 where the step allows none (`addSignerCandidates`); `after` keeps `data` (checked as on the
    page) until the signer agrees, which completes the task with it."""
    return signers.add(engine(), g.api_principal, task_id, body["signer"], body["position"], body["reason"],
                       raw=body.get("data"))


@bp.route("/signatures/<int:signature_id>", methods=["POST"])
@token_required()
@bp.arguments(SignSchema)
@bp.response(200, SignersSchema)
@document_errors(400, 404, 409)
def sign(body, signature_id: int):
    """Sign what one was asked to sign (加签): agree or not, with an opinion (required when not)"""
    return signers.sign(engine(), g.api_principal, signature_id, body["agree"], body.get("opinion"))
