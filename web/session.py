"""Who is asking: the signed-in principal on `g`, the decorators that guard every route, CSRF and
security headers.

The session cookie is signed, but it carries only `sid`, the secret of a session kept on the server
(`engine.org.sessions`): signing out, a password or role change, the idle limit and the absolute
lifetime end that session, and a replayed cookie then finds nothing. After an administrator's reset
(`must_change`), every page but the password page and signing out leads to the password page."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from engine import permissions
from engine.org import sessions

csrf = CSRFProtect()
# What a person whose password an administrator reset may do before choosing a new one.
MAY_BEFORE_NEW_PASSWORD = {"auth.change_password", "auth.logout", "auth.set_locale", "static", "vendor"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def engine():
    return current_app.extensions["qinglian"]


def init_app(app) -> None:
    csrf.init_app(app)
    app.jinja_env.globals["permissions"] = permissions     # the menu asks the same predicates as the routes

    @app.before_request
    def load_principal():
        g.principal = None
        secret = session.get("sid")
        if secret:
            g.principal = sessions.session_principal(engine(), secret, idle=current_app.config["SESSION_IDLE_LIMIT"])
            if g.principal is None:          # ended, idle, expired, or the person deactivated since
                session.clear()
            elif (session.get("must_change") and request.endpoint not in MAY_BEFORE_NEW_PASSWORD
                  and not request.path.startswith("/api/")):       # the API reads no cookie
                return redirect(url_for("auth.change_password"))
        return None

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if g.get("principal") is not None:
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("principal") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


def roles_required(*codes: str):
    """Signed in and holding one of `codes`; 403 otherwise."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not g.principal.has(*codes):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
