"""Errors, mapped once: engine exceptions to HTTP statuses; JSON for the API, a page for people."""
from __future__ import annotations

from contextlib import contextmanager

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.org.accounts import AuthenticationFailed
from engine.errors import Conflict, EngineError, Forbidden, Invalid, NotFound, Unavailable

STATUS = ((NotFound, 404), (Invalid, 422), (Conflict, 409), (Forbidden, 403), (AuthenticationFailed, 401),
          (Unavailable, 503))


def status_of(exc: EngineError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def error_body(exc: EngineError) -> dict:
    """`{code, message, fields}`: fields maps each field at fault to its message."""
    body = exc.to_dict()
    fields: dict[str, str] = {}
    for p in body.pop("problems", None) or []:
        key = p.get("field") or p.get("element_id") or "_"
        fields.setdefault(key, p.get("message"))
    if body.get("field") and body["field"] not in fields:
        fields[body.pop("field")] = exc.message
    body["fields"] = fields
    return body


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app) -> None:
    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        status = status_of(exc)
        if wants_json():
            return jsonify(error_body(exc)), status
        # the engine says why in Chinese; the reader gets it in their language where the catalog has it
        return render_template("error.html", status=status, message=_(exc.message)), status

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        if wants_json():
            return jsonify(code="csrf", message=exc.description, fields={}), 400
        return render_template("error.html", status=400, message=_("页面已过期，请刷新后重试")), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            return jsonify(code=exc.name.lower().replace(" ", "_"), message=exc.description, fields={}), exc.code
        return render_template("error.html", status=exc.code, message=None), exc.code


@contextmanager
def or_404():
    """Inside a page route: what the engine does not find (or will not show to this person, e.g. a
    confidential process) is the plain 404 page, not the error page of a refusal."""
    try:
        yield
    except NotFound:
        abort(404)
