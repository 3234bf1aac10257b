"""What every API blueprint shares: the `/api/v1` prefix, JSON errors, no caching, the Bearer challenge."""
from __future__ import annotations

import json

from flask import request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError

from .errors import engine_error, http_error

PREFIX = "/api/v1"


class Parser(FlaskParser):
    """webargs's parser, for which JSON that Python's decoder gives up on (nested past the recursion limit,
    an integer of thousands of digits) is malformed JSON too: a 400, not a crash."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:
            raise json.JSONDecodeError(str(exc), "…", 0) from None


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, with a schema class made an instance once, here: webargs would build one
        from the class on every request (as costly as the validation itself)."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    bp = ApiBlueprint(f"api_{name}", import_name, url_prefix=PREFIX, description=description)
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
