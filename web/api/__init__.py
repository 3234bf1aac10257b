"""The REST API, `/api/v1`: flask-smorest blueprints over the engine's service calls, with the OpenAPI
document at `/api/v1/openapi.json` (no bundled UI: nothing loaded from a CDN).

Every request authenticates with a bearer token (`auth.py`); session cookies are ignored, so the API
is exempt from CSRF. Every error is `{code, message, fields}` JSON (`errors.py`).
"""
from __future__ import annotations

from flask_smorest import Api

from ..session import csrf
from . import approval, auth, documents, instances, processes, tasks
from .auth import SCHEME
from .base import PREFIX
from .schemas import ErrorSchema

BLUEPRINTS = (auth.bp, processes.bp, instances.bp, tasks.bp, approval.bp, documents.bp)


class QinglianApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """flask-smorest would take over every HTTPException of the app, the pages' included; the API's
        own handlers sit on its blueprints instead (`base.api_blueprint`)."""


def init_app(app) -> None:
    app.config.update(
        API_TITLE="Qinglian (清廉) workflow API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": (
            "Processes, instances and human tasks of the Qinglian engine. Get a token with "
            "`POST /api/v1/auth/token`, then send `Authorization: Bearer <token>`. "
            "Errors are `{code, message, fields}`.")}},
    )
    api = QinglianApi(app)
    api.spec.components.security_scheme(SCHEME, {"type": "http", "scheme": "bearer",
                                                 "description": "a token from POST /api/v1/auth/token"})
    for bp in BLUEPRINTS:
        csrf.exempt(bp)
        api.register_blueprint(bp)
