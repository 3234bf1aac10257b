"""Human tasks: the inbox lists, one task, and what a person does with it — claim, give back, hand
over, complete, comment. Who may do what is `engine.worklist`'s to say, exactly as on the pages."""
from __future__ import annotations

from flask import g
from marshmallow import RAISE

from engine.inbox import handover, lists as worklist, submission, tasks as inbox_tasks

from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import (CommentListSchema, CommentRequestSchema, CommentSchema, CompleteSchema, HandoverSchema,
                      InstanceSchema, RecusalSchema, ResolveSchema, TaskDetailSchema, TaskPageSchema, TaskQuerySchema, TaskSchema)

bp = api_blueprint("tasks", __name__,
                   "Human tasks: the inbox, claiming, handing over, completing, commenting")

VIEWABLE = ("Visible to its assignee, the person who completed it, candidates of its lane, the head of its "
            "department, auditors, the discipline office and admins; anyone else gets 403.")


@bp.route("/tasks", methods=["GET"])
@token_required()
@bp.arguments(TaskQuerySchema, location="query", unknown=RAISE)
@bp.response(200, TaskPageSchema)
@document_errors(400)
def list_tasks(args):
    """The inbox: my tasks, claimable, due soon, overdue, done, my department's

    Same lists and filters as the inbox page; `view=department` lists nothing for someone who heads
    no department."""
    query = worklist.TaskQuery.parse({k: str(v) for k, v in args.items()})
    page = worklist.page_of(engine(), g.api_principal, query)
    return {"items": page.rows, "total": page.total, "page": page.page, "per_page": page.per_page,
            "pages": page.pages}


@bp.route("/tasks/<task_id>", methods=["GET"])
@token_required()
@bp.doc(description=VIEWABLE)
@bp.response(200, TaskDetailSchema)
@document_errors(404)
def get_task(task_id: str):
    """One task, with its form definition and what the caller may do with it"""
    return inbox_tasks.detail(engine(), g.api_principal, task_id)


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@token_required()
@bp.response(200, TaskSchema)
@document_errors(404, 409)
def claim(task_id: str):
    """Claim a task of one's lane (409 if a colleague holds it, or it is done)"""
    return inbox_tasks.claim_checked(engine(), g.api_principal, task_id)


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@token_required()
@bp.response(200, TaskSchema)
@document_errors(404, 409)
def unclaim(task_id: str):
    """Give a claimed task back to the lane (409 unless the caller holds it)"""
    return inbox_tasks.unclaim(engine(), g.api_principal, task_id)


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
@token_required()
@bp.arguments(HandoverSchema)
@bp.response(200, TaskSchema)
@document_errors(400, 404, 409)
def delegate(body, task_id: str):
    """Delegate a task one holds to a colleague its lane admits, with a reason: one stays its owner,
    and it comes back once the delegate resolves it (Camunda's delegation)"""
    return handover.hand_over(engine(), g.api_principal, task_id, handover.DELEGATE, body["to"], body["reason"])


@bp.route("/tasks/<task_id>/resolve", methods=["POST"])
@token_required()
@bp.arguments(ResolveSchema)
@bp.response(200, TaskSchema)
@document_errors(400, 404, 409)
def resolve(body, task_id: str):
    """Resolve a task delegated to one (委托): it goes back to its owner, with what one filled in and a
    note, for the owner to complete

    Only the delegate holding it may (others: 403; its owner meanwhile, or anyone while it is not
    delegated: 409);
    `data` is taken as far as the form knows it, like a draft, and is checked in full when the owner
    completes."""
    return submission.submit(engine(), g.api_principal, task_id, body["data"], action=submission.RESOLVE,
                             note=body["note"]).task


@bp.route("/tasks/<task_id>/transfer", methods=["POST"])
@token_required()
@bp.arguments(HandoverSchema)
@bp.response(200, TaskSchema)
@document_errors(400, 404, 409)
def transfer(body, task_id: str):
    """Hand a task one holds for good to a colleague its lane admits, with a reason"""
    return handover.hand_over(engine(), g.api_principal, task_id, handover.TRANSFER, body["to"], body["reason"])


@bp.route("/tasks/<task_id>/reassign", methods=["POST"])
@token_required()
@bp.arguments(HandoverSchema)
@bp.response(200, TaskSchema)
@document_errors(400, 404, 409)
def reassign(body, task_id: str):
    """Give an open task of one's department to someone its lane admits, whoever holds it (department heads, admins)"""
    return handover.hand_over(engine(), g.api_principal, task_id, handover.REASSIGN, body["to"], body["reason"])


@bp.route("/tasks/<task_id>/recuse", methods=["POST"])
@token_required()
@bp.arguments(RecusalSchema)
@bp.response(200, TaskSchema)
@document_errors(400, 404, 409)
def recuse(body, task_id: str):
    """Declare a conflict of interest on a task (自行回避): the caller is kept out of its instance from now on"""
    return inbox_tasks.declare_conflict(engine(), g.api_principal, task_id, body["reason"])


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@token_required()
@bp.arguments(CompleteSchema)
@bp.response(200, InstanceSchema)
@document_errors(400, 404, 409)
def complete(body, task_id: str):
    """Complete a task with its form's data

    `data` is checked against the task's form exactly as on the task page; each field at fault is
    named in the 422's `fields`, with a message in Chinese. Answers the instance as it stands after."""
    return submission.submit(engine(), g.api_principal, task_id, body["data"]).instance.to_dict()


@bp.route("/tasks/<task_id>/comments", methods=["GET"])
@token_required()
@bp.doc(description=VIEWABLE)
@bp.response(200, CommentListSchema)
@document_errors(404)
def list_comments(task_id: str):
    """The comment thread of the task's instance (it follows the case from task to task)"""
    return {"items": inbox_tasks.comments_of(engine(), g.api_principal, task_id)}


@bp.route("/tasks/<task_id>/comments", methods=["POST"])
@token_required()
@bp.doc(description=VIEWABLE)
@bp.arguments(CommentRequestSchema)
@bp.response(201, CommentSchema)
@document_errors(400, 404)
def add_comment(body, task_id: str):
    """Comment on the task"""
    return inbox_tasks.comment(engine(), g.api_principal, task_id, body["body"])
