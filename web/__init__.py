"""The Flask application factory. Thin: routes translate requests into engine calls."""
from __future__ import annotations

from flask import Flask, jsonify

from engine.config import Settings
from engine.errors import Conflict, EngineError, Forbidden, Invalid, NotFound

STATUS = ((NotFound, 404), (Invalid, 422), (Conflict, 409), (Forbidden, 403))


def create_app(settings: Settings | None = None, engine=None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    if engine is None:
        from engine.services import open_engine
        engine = open_engine(settings)
    app.extensions["qinglian"] = engine

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError):
        status = next((code for cls, code in STATUS if isinstance(exc, cls)), 400)
        return jsonify(exc.to_dict()), status

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    return app
