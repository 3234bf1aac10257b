"""Deployed processes: list them, look one up, deploy BPMN files as new versions."""
from __future__ import annotations

from flask import g, jsonify

from engine import permissions
from engine.errors import Invalid, NotFound
from engine.bpmn.validation import SourceFile

from ..errors import error_body
from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import (DeployErrorSchema, DeployRequestSchema, DeployResultSchema, ProcessListSchema,
                      ProcessSchema, ValidateRequestSchema, ValidResultSchema)

bp = api_blueprint("processes", __name__,
                   "Process definitions (BPMN) and their immutable, numbered versions")


def _by_key(versions: list[dict]) -> list[dict]:
    processes: dict[str, dict] = {}
    for v in versions:                                     # ordered by key, then version
        p = processes.setdefault(v["process_key"], {"key": v["process_key"], "versions": []})
        p["versions"].append(v)
        p["latest"], p["name"] = v, v["name"]
    return list(processes.values())


@bp.route("/processes", methods=["GET"])
@token_required()
@bp.response(200, ProcessListSchema)
def list_processes():
    """List deployed processes, each with its latest version and all versions"""
    return {"items": _by_key(engine().registry.list_versions())}


@bp.route("/processes/<key>", methods=["GET"])
@token_required()
@bp.response(200, ProcessSchema)
@document_errors(404)
def get_process(key: str):
    """One process and its versions"""
    found = _by_key(engine().registry.list_versions(key)) if "\x00" not in key else []
    if not found:
        raise NotFound(f"流程 {key} 尚未部署", field="key")
    return found[0]


@bp.route("/processes", methods=["POST"])
@token_required(*permissions.PROCESS_EDITORS)
@bp.arguments(DeployRequestSchema)
@bp.response(201, DeployResultSchema)
@bp.alt_response(422, schema=DeployErrorSchema,
                 description="The files do not validate: `fields` maps each element id (or file) at fault to a "
                             "message; `problems` lists every problem with its file, element and line.")
@document_errors(400)
def deploy(body):
    """Deploy BPMN files

    Each process in the files becomes a new version of its key, unless identical to the latest one.
    The whole deployment is validated first (lanes, forms, scripts, timers, called processes)."""
    files = [SourceFile(f["name"], f["xml"].encode("utf-8")) for f in body["files"]]
    try:
        deployed = engine().deploy(files, deployed_by=g.api_principal.username, note=body.get("note"))
    except Invalid as exc:
        return jsonify(_invalid_body(exc)), 422
    return {"versions": [d.to_dict() for d in deployed]}


@bp.route("/processes/validate", methods=["POST"])
@token_required(*permissions.PROCESS_EDITORS)
@bp.arguments(ValidateRequestSchema)
@bp.response(200, ValidResultSchema)
@bp.alt_response(422, schema=DeployErrorSchema, description="The files do not validate, as for a deploy.")
@document_errors(400)
def validate(body):
    """Validate BPMN files without deploying

    The same checks and messages as a deploy (and as the modeler and `qinglian deploy`); nothing is stored."""
    files = [SourceFile(f["name"], f["xml"].encode("utf-8")) for f in body["files"]]
    try:
        engine().registry.validate(files)
    except Invalid as exc:
        return jsonify(_invalid_body(exc)), 422
    return {"valid": True}


def _invalid_body(exc: Invalid) -> dict:
    """Problems keyed by where they are (element id, else file), and every one of them listed."""
    fields: dict[str, str] = {}
    for p in exc.problems:
        fields.setdefault(p.element_id or p.file or p.field or "_", p.message)
    return {**error_body(exc), "fields": fields, "problems": [p.to_dict() for p in exc.problems]}
