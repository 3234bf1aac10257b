"""Signing in and out, changing one's password and language."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.errors import Invalid
from engine.org import accounts, authenticator, people, sessions, signin
from engine.org import two_factor as engine_two_factor
from engine.errors import Unavailable
from engine.org.accounts import AuthenticationFailed
from engine.signon import doors

from .i18n import LOCALES
from .session import engine, login_required, safe_next

bp = Blueprint("auth", __name__)


def signed_in(principal, secret: str, must_change: bool, next_url: str | None, *, via: str = "local"):
    """Every way in ends here (the password form, the directory, OIDC, CAS): the second factor for a
    privileged role (`engine.org.signin.second_step`), then `finish_sign_in`. `via` names the single
    sign-on to log out of."""
    try:
        result = signin.second_step(engine(), secret, must_change, current_app.config["SIGN_IN_POLICY"],
                                    request.remote_addr)
    except AuthenticationFailed as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("auth.login"))
    return finish_sign_in(result, next_url, via=via)


def finish_sign_in(result: signin.SignIn, next_url: str | None, *, via: str = "local"):
    """The cookie for the session or the pending sign-in `result` names — a fresh one: no fixation
    across sign-in — and the page that comes next: the second factor, enrolling one, the password
    page, or where the person was going."""
    session.clear()
    session.permanent = True
    if via != "local":
        session["via"] = via
    if result.stage is not None:
        session["pending"] = result.secret
        if next_url:
            session["next"] = safe_next(next_url, url_for("inbox.tasks"))
        return redirect(url_for("auth.two_factor" if result.stage == signin.TWO_FACTOR else "auth.enrol"))
    session["sid"] = result.secret
    if result.must_change:
        session["must_change"] = True
        flash(_("管理员重置了你的密码，请先设置新密码") if result.must_change == "reset"
              else _("密码已超过规定期限未修改，请先设置新密码"), "error")
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
                current_app.config["SESSION_ABSOLUTE_LIMIT"], address=request.remote_addr)
        except (AuthenticationFailed, Unavailable) as exc:
            error = _(exc.message)
        else:
            return signed_in(principal, secret, must_change, request.args.get("next"))
        return render_template("login.html", error=error, username=username), 401
    if g.principal is not None:
        return redirect(url_for("inbox.tasks"))
    return render_template("login.html", error=None, username="")


def _pending_or_login(stage: str):
    pending = signin.pending(engine(), session.get("pending"))
    if pending is None or pending["stage"] != stage:
        session.pop("pending", None)
        flash(_("登录已超时，请重新登录"), "error")
        return None, redirect(url_for("auth.login"))
    return pending, None


def _second_step(stage: str, template: str, **page):
    pending, gone = _pending_or_login(stage)
    if gone is not None:
        return gone
    error = None
    if request.method == "POST":
        call = signin.second_factor if stage == signin.TWO_FACTOR else signin.enrol
        try:
            outcome = call(engine(), session.get("pending"), request.form.get("code", ""),
                           current_app.config["SIGN_IN_POLICY"], request.remote_addr)
        except AuthenticationFailed as exc:
            if exc.details.get("expired"):
                session.pop("pending", None)
                flash(_(exc.message), "error")
                return redirect(url_for("auth.login"))
            error = _(exc.message)
        else:
            result, codes = outcome if stage == signin.ENROL else (outcome, None)
            next_url, via = session.get("next"), session.get("via", "local")
            answer = finish_sign_in(result, next_url, via=via)
            if codes:
                return render_template("recovery_codes.html", codes=codes,
                                       next=answer.headers["Location"])
            return answer
    return render_template(template, error=error, pending=pending, **page), (422 if error else 200)


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor():
    """The second step for the privileged roles: a code from the authenticator, or a recovery code."""
    return _second_step(signin.TWO_FACTOR, "two_factor.html")


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol():
    """First sign-in of a privileged role: set up an authenticator from the QR code, then prove it."""
    pending, gone = _pending_or_login(signin.ENROL)
    if gone is not None:
        return gone
    qr = engine_two_factor.qr_svg_data_uri(pending["enrol_secret"], pending["username"])
    return _second_step(signin.ENROL, "enrol_two_factor.html", qr=qr, secret=pending["enrol_secret"])


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


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def account_two_factor():
    """One's own authenticator: renew the recovery codes, or remove the authenticator (a new phone);
    either proven by a current code or an unused recovery code."""
    errors, action = {}, request.form.get("action")
    if request.method == "POST":
        code = request.form.get("code", "")
        try:
            if action == "renew":
                codes = authenticator.renew_codes(engine(), g.principal.username, code, request.remote_addr)
                return render_template("recovery_codes.html", codes=codes, renewed=True,
                                       next=url_for("auth.account_two_factor"))
            if action == "remove":
                authenticator.remove_own(engine(), g.principal.username, code, request.remote_addr)
                session.clear()
                flash(_("验证器已移除，你已退出登录；下次登录时请设置新的验证器"), "success")
                return redirect(url_for("auth.login"))
            errors = {"_": _("未知的操作")}
        except Invalid as exc:
            errors = {action: _(p.message) for p in exc.problems} or {"_": _(exc.message)}
        except AuthenticationFailed as exc:           # too many wrong codes: signed out, like a lockout
            session.clear()
            flash(_(exc.message), "error")
            return redirect(url_for("auth.login"))
    return render_template("account_two_factor.html", errors=errors, action=action,
                           **authenticator.status(engine(), g.principal.username)), (422 if errors else 200)


@bp.post("/account/locale")
def set_locale():
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        if g.principal is not None:
            people.set_locale(engine(), g.principal.username, locale)
    return redirect(safe_next(request.form.get("next"), url_for("inbox.tasks")))
