"""Process instances: start one, look at it, read its history."""
from __future__ import annotations

from flask import g

from engine.runtime import migration as instance_migration
from engine import permissions
from engine.db.transactions import read_transaction

from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import EventListSchema, InstanceSchema, MigrateRequestSchema, MigrationSchema, StartSchema

bp = api_blueprint("instances", __name__, "Running and finished process instances")

STARTERS = ("discipline_office", "process_owner", "admin")
VIEW_INSTANCE = ("Visible to the people who started it or may view one of its tasks, and to auditors, the "
                 "discipline office and admins; anyone else gets 403.")


def visible_instance(instance_id: str):
    """The instance, if the caller may see it (404 if there is none, 403 if they may not)."""
    eng = engine()
    view = eng.show(instance_id)
    with read_transaction(eng.db) as conn:
        allowed = permissions.can_view_instance(conn, g.api_principal, view.id)
    permissions.require(allowed, "你无权查看此流程实例")
    return view


@bp.route("/instances", methods=["POST"])
@token_required(*STARTERS)
@bp.arguments(StartSchema)
@bp.response(201, InstanceSchema)
@document_errors(400, 404)
def start(body):
    """Start an instance

    Of the latest version of `process_key`, or of `version`. `data` becomes the process data the
    first tasks see (e.g. `{"department": "neike"}` for the monthly report). A confidential process
    (clues, disclosures) is started here only by the roles its `startableBy` names: a clue's reporter
    identity must go through the registration page, which keeps it out of the workflow data."""
    info = engine().process_info(body["process_key"])
    permissions.require(info.confidential is None or permissions.can_start(g.api_principal, info),
                     "此流程含保密信息，只能通过其专用页面发起")
    view = engine().start(body["process_key"], started_by=g.api_principal.username, version=body.get("version"),
                          business_key=body.get("business_key"), data=body.get("data"))
    return view.to_dict()


@bp.route("/instances/<instance_id>", methods=["GET"])
@token_required()
@bp.doc(description=VIEW_INSTANCE)
@bp.response(200, InstanceSchema)
@document_errors(404)
def get_instance(instance_id: str):
    """One instance: status, open tasks, timers waiting, incidents, data"""
    return visible_instance(instance_id).to_dict()


@bp.route("/instances/<instance_id>/events", methods=["GET"])
@token_required()
@bp.doc(description=VIEW_INSTANCE)
@bp.response(200, EventListSchema)
@document_errors(404)
def get_events(instance_id: str):
    """An instance's history, oldest first (a hash chain: each event carries the hash of the one before)"""
    view = visible_instance(instance_id)
    return {"items": engine().events(view.id)}


@bp.route("/instances/<instance_id>/migrate", methods=["POST"])
@token_required("process_owner", "admin")
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
