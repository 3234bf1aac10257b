"""What every API blueprint shares: the `/api/v1` prefix, JSON errors, no caching, the Bearer challenge."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError

from .errors import engine_error, http_error

PREFIX = "/api/v1"


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    bp = Blueprint(f"api_{name}", import_name, url_prefix=PREFIX, description=description)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(EngineError, engine_error)
    bp.after_request(_headers)
    return bp


def _headers(resp):
    resp.headers["Cache-Control"] = "no-store"
    if resp.status_code == 401:        # RFC 6750: say how to authenticate, and whether the token was the problem
        challenge = 'Bearer realm="qinglian"'
        if request.headers.get("Authorization"):
            challenge += ', error="invalid_token"'
        resp.headers["WWW-Authenticate"] = challenge
    return resp
