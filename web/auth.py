"""Signing in and out, changing one's password and language."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.org import accounts
from engine.org.accounts import AuthenticationFailed
from engine.db.transactions import write_transaction
from engine.errors import Invalid
from engine.db.schema import staff

from .i18n import LOCALES
from .session import engine, login_required, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        eng = engine()
        try:
            principal = accounts.authenticate(eng.db, username, request.form.get("password", ""), eng.clock.now())
        except AuthenticationFailed as exc:
            error = _(exc.message)
        else:
            session.clear()                       # a fresh session: no fixation across sign-in
            session["username"] = principal.username
            session.permanent = True
            return redirect(safe_next(request.args.get("next"), url_for("inbox.tasks")))
        return render_template("login.html", error=error, username=username), 401
    if g.principal is not None:
        return redirect(url_for("inbox.tasks"))
    return render_template("login.html", error=None, username="")


@bp.post("/logout")
def logout():
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
            eng = engine()
            try:
                with write_transaction(eng.db) as conn:
                    accounts.change_password(conn, g.principal.username, request.form.get("old_password", ""),
                                             new, eng.clock.now())
            except Invalid as exc:
                errors = {p.field: _(p.message) for p in exc.problems} or {"_": exc.message}
            else:
                flash(_("密码已修改"), "success")
                return redirect(url_for("inbox.tasks"))
    return render_template("password.html", errors=errors), (422 if errors else 200)


@bp.post("/account/locale")
def set_locale():
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        if g.principal is not None:
            with write_transaction(engine().db) as conn:
                conn.execute(staff.update().where(staff.c.username == g.principal.username).values(locale=locale))
    return redirect(safe_next(request.form.get("next"), url_for("inbox.tasks")))
