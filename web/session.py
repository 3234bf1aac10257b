"""Who is asking: the signed-in principal on `g`, the decorators that guard every route, CSRF and
security headers."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from engine import permissions
from engine.org import people as org

csrf = CSRFProtect()

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
        username = session.get("username")
        if username:
            g.principal = org.signed_in(engine(), username)
            if g.principal is None:          # deactivated or deleted since signing in
                session.clear()

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
