"""Signing in and out, changing one's password and language."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.errors import Invalid
from engine.org import accounts, people, sessions
from engine.errors import Unavailable
from engine.org.accounts import AuthenticationFailed
from engine.signon import doors

from .i18n import LOCALES
from .session import engine, login_required, safe_next

bp = Blueprint("auth", __name__)


def signed_in(principal, secret: str, must_change: bool, next_url: str | None, *, via: str = "local"):
    """Every way in ends here (the password form, the directory, OIDC, CAS): a fresh session — no
    fixation across sign-in — and the page to go to. `via` names the single sign-on to log out of."""
    session.clear()
    session["sid"] = secret
    session.permanent = True
    if via != "local":
        session["via"] = via
    if must_change:
        session["must_change"] = True
        flash(_("管理员重置了你的密码，请先设置新密码"), "error")
        return redirect(url_for("auth.change_password"))
    return redirect(safe_next(next_url, url_for("inbox.tasks")))


def sign_on() -> dict:
    """The hospital's sign-on configured for this app (web.signon): directory, oidc, cas."""
    return current_app.extensions.get("qinglian_signon", {})


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            principal, secret, must_change = doors.sign_in_with_password(
                engine(), sign_on().get("directory"), username, request.form.get("password", ""),
                current_app.config["SESSION_ABSOLUTE_LIMIT"])
        except (AuthenticationFailed, Unavailable) as exc:
            error = _(exc.message)
        else:
            return signed_in(principal, secret, must_change, request.args.get("next"))
        return render_template("login.html", error=error, username=username), 401
    if g.principal is not None:
        return redirect(url_for("inbox.tasks"))
    return render_template("login.html", error=None, username="")


@bp.post("/logout")
def logout():
    sessions.end_session(engine(), session.get("sid"))
    via, id_token = session.get("via"), session.get("id_token")
    session.clear()
    from .signon import single_logout
    return single_logout(via, id_token) or redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors["confirm_password"] = _("两次输入的新密码不一致")
        else:
            try:
                secret = accounts.change_own_password(engine(), g.principal.username,
                                                      request.form.get("old_password", ""), new,
                                                      current_app.config["SESSION_ABSOLUTE_LIMIT"])
            except Invalid as exc:
                errors = {p.field: _(p.message) for p in exc.problems} or {"_": exc.message}
            else:
                session["sid"] = secret               # every other session and token ended with the change
                session.pop("must_change", None)
                flash(_("密码已修改"), "success")
                return redirect(url_for("inbox.tasks"))
    return render_template("password.html", errors=errors), (422 if errors else 200)


@bp.post("/account/locale")
def set_locale():
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        if g.principal is not None:
            people.set_locale(engine(), g.principal.username, locale)
    return redirect(safe_next(request.form.get("next"), url_for("inbox.tasks")))
