"""The Flask application factory. Thin: routes translate requests into engine calls.

Pages (Jinja, a little JavaScript) live in blueprints by concern: `auth`, `inbox`, `tasks`, `admin`;
the REST API in `web.api`. Nothing is wired at import time; tests build as many apps as they like.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask

from engine import keyfile
from engine.config import Settings
from engine.org import signin

from . import errors, formatting, i18n, input_check, observability, proxies, session, vendor


def create_app(settings: Settings | None = None, engine=None, *, testing: bool = False,
               secret_key: str | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    if engine is None:
        from engine.bootstrap import open_engine
        engine = open_engine(settings)
    app.extensions["qinglian"] = engine
    app.config.update(
        TESTING=testing,
        SECRET_KEY=secret_key or settings.secret_key or _secret_key(settings.instance_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="qinglian_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        # The cookie only names a server-side session (engine.org.sessions), which these limits end.
        SESSION_IDLE_LIMIT=timedelta(minutes=settings.session_idle_minutes),
        SESSION_ABSOLUTE_LIMIT=timedelta(hours=settings.session_hours),
        SIGN_IN_POLICY=signin.Policy(session_lifetime=timedelta(hours=settings.session_hours),
                                     password_max_age=(timedelta(days=settings.password_max_age_days)
                                                       if settings.password_max_age_days > 0 else None)),
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,            # the token lives as long as the session
    )

    app.wsgi_app = proxies.TrustedProxies(app.wsgi_app, settings.trusted_proxies)
    observability.init_app(app, settings)
    input_check.init_app(app)              # before CSRF and every route: NUL never reaches the database
    session.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    vendor.init_app(app)

    from . import admin, admin_import, approval, auth, campaign, inbox, notices, start, started, tasks  # noqa: F401  (admin_import adds routes to admin)
    for blueprint in (auth.bp, inbox.bp, tasks.bp, approval.bp, start.bp, started.bp, notices.bp, admin.bp, campaign.bp):
        app.register_blueprint(blueprint)
    from . import api, audit, clues
    audit.init_app(app)
    api.init_app(app)
    clues.init_app(app, settings)
    from . import person_files, records, reports
    app.register_blueprint(reports.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(person_files.bp)
    from . import modeler, modeler_decisions, modeler_forms
    app.register_blueprint(modeler.bp)
    app.register_blueprint(modeler_forms.bp)
    app.register_blueprint(modeler_decisions.bp)
    from . import messages, signon
    signon.init_app(app, settings)
    app.register_blueprint(messages.bp)
    from . import documents
    app.register_blueprint(documents.bp)
    from . import analytics
    app.register_blueprint(analytics.bp)
    return app


def _secret_key(instance_dir: Path) -> str:
    """A random key kept in the instance folder (created once, owner-only), when the settings name none."""
    return keyfile.read_or_create(Path(instance_dir) / "secret_key", lambda: secrets.token_hex(32))[0]
