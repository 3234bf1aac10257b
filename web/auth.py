"""Signing in and out, changing one's password and language."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.errors import Invalid
from engine.org import accounts, people, sessions
from engine.org.accounts import AuthenticationFailed

from .i18n import LOCALES
from .session import engine, login_required, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            principal, secret, must_change = accounts.sign_in_to_pages(
                engine(), username, request.form.get("password", ""), current_app.config["SESSION_ABSOLUTE_LIMIT"])
        except AuthenticationFailed as exc:
            error = _(exc.message)
        else:
            session.clear()                       # a fresh session: no fixation across sign-in
            session["sid"] = secret
            session.permanent = True
            if must_change:
                session["must_change"] = True
                flash(_("管理员重置了你的密码，请先设置新密码"), "error")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next"), url_for("inbox.tasks")))
        return render_template("login.html", error=error, username=username), 401
    if g.principal is not None:
        return redirect(url_for("inbox.tasks"))
    return render_template("login.html", error=None, username="")


@bp.post("/logout")
def logout():
    sessions.end_session(engine(), session.get("sid"))
    session.clear()
    return redirect(url_for("auth.login"))


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
