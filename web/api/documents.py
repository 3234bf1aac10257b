"""Official documents' numbers (文号): the register of a year, and voiding a number (the discipline
office). A voided number stays recorded as voided and is never given out again."""
from __future__ import annotations

from flask import g

from engine.documents import service
from engine.permissions import OFFICE

from ..session import engine
from .auth import token_required
from .base import api_blueprint
from .errors import document_errors
from .schemas import NumberQuerySchema, NumberRegisterSchema, DocumentNumberSchema, VoidNumberSchema

bp = api_blueprint("documents", __name__, "Official documents: the register of document numbers (文号)")


@bp.route("/document-numbers", methods=["GET"])
@token_required(*OFFICE)
@bp.arguments(NumberQuerySchema, location="query")
@bp.response(200, NumberRegisterSchema)
@document_errors(400)
def register(args):
    """The numbers given out in a year (this year by default), of one sequence or every one, issued and voided"""
    found = service.number_register(engine(), g.api_principal, args.get("kind"), args.get("year"), strict=True)
    return {"kind": found.kind, "year": found.year, "items": found.numbers}


@bp.route("/document-numbers/<kind>/<int:year>/<int:number>/void", methods=["POST"])
@token_required(*OFFICE)
@bp.arguments(VoidNumberSchema)
@bp.response(200, DocumentNumberSchema)
@document_errors(400, 404, 409)
def void(body, kind: str, year: int, number: int):
    """Void a number with a reason: it stays in the register as voided (409 if it already is, 404 if it
    was never given out); the administration log and the instance's chain record who and why"""
    return service.void_number_as(engine(), g.api_principal, kind, year, number, body["reason"])
