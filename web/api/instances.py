"""Process instances: start one, look at it, read its history."""
from __future__ import annotations

from flask import g

from engine.runtime import migration as instance_migration
from engine import permissions
from engine.inbox import submission, tasks as inbox_tasks

from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import EventListSchema, InstanceSchema, MigrateRequestSchema, MigrationSchema, StartSchema

bp = api_blueprint("instances", __name__, "Running and finished process instances")

VIEW_INSTANCE = ("Visible to the people who started it or may view one of its tasks, and to auditors, the "
                 "discipline office and admins; anyone else gets 403.")


@bp.route("/instances", methods=["POST"])
@token_required(*permissions.INSTANCE_STARTERS)
@bp.arguments(StartSchema)
@bp.response(201, InstanceSchema)
@document_errors(400, 404)
def start(body):
    """Start an instance

    Of the latest version of `process_key`, or of `version`. `data` becomes the process data the
    first tasks see (e.g. `{"department": "neike"}` for the monthly report). A confidential process
    (clues, disclosures) is started here only by the roles its `startableBy` names: a clue's reporter
    identity must go through the registration page, which keeps it out of the workflow data."""
    return submission.start_with_data(engine(), g.api_principal, body["process_key"], version=body.get("version"),
                                      business_key=body.get("business_key"), data=body.get("data")).to_dict()


@bp.route("/instances/<instance_id>", methods=["GET"])
@token_required()
@bp.doc(description=VIEW_INSTANCE)
@bp.response(200, InstanceSchema)
@document_errors(404)
def get_instance(instance_id: str):
    """One instance: status, open tasks, timers waiting, incidents, data"""
    return inbox_tasks.instance_of(engine(), g.api_principal, instance_id).to_dict()


@bp.route("/instances/<instance_id>/events", methods=["GET"])
@token_required()
@bp.doc(description=VIEW_INSTANCE)
@bp.response(200, EventListSchema)
@document_errors(404)
def get_events(instance_id: str):
    """An instance's history, oldest first (a hash chain: each event carries the hash of the one before)"""
    return {"items": inbox_tasks.events_of(engine(), g.api_principal, instance_id)}


@bp.route("/instances/<instance_id>/migrate", methods=["POST"])
@token_required(*permissions.PROCESS_EDITORS)
@bp.arguments(MigrateRequestSchema)
@bp.response(200, MigrationSchema)
@document_errors(400, 404, 409)
def migrate(body, instance_id: str):
    """Move a running instance to a newer version of its process

    Only when safe: every task the instance has completed or waits at is unchanged in the target
    version. Otherwise 409 (`migration_unsafe`) with `obstacles` naming each element and what changed.
    The migration is an `instance_migrated` event in the instance's history."""
    verdict = instance_migration.migrate(engine(), instance_id, actor=g.api_principal.username,
                                         to_version=body.get("to_version"))
    return verdict.to_dict()
