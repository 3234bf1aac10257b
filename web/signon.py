"""Single sign-on pages: OIDC / OAuth2 authorization code with PKCE (Authlib's Flask client) and
single logout, CAS 2.0/3.0 tickets. Each route is one engine call (`engine.signon`) and ends in
`auth.signed_in`, the same as the password form, so whatever a sign-in requires next (a second
factor for privileged roles) applies to every way in."""
from __future__ import annotations

from urllib.parse import urlencode

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.errors import Invalid, Unavailable
from engine.org.accounts import AuthenticationFailed
from engine.signon import doors, oidc
from engine.signon.cas import CasServer, cas_logout_request, cas_sign_in
from engine.signon.ldap import Directory

from .auth import signed_in, sign_on
from .session import csrf, engine

bp = Blueprint("signon", __name__)


def init_app(app, settings) -> None:
    config = {"directory": Directory.from_settings(settings), "cas": CasServer.from_settings(settings)}
    if settings.oidc_issuer and settings.oidc_client_id:
        oauth = OAuth(app)
        config["oidc"] = oauth.register(
            "oidc", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"})
        config["username_claim"] = settings.oidc_username_claim
    app.extensions["qinglian_signon"] = config
    app.register_blueprint(bp)

    @app.context_processor
    def sso_links():
        return {"sso": {"oidc": "oidc" in config, "cas": config["cas"] is not None}}


def _refused(exc) -> tuple:
    return render_template("login.html", error=_(exc.message), username=""), 401


@bp.get("/login/oidc")
def oidc_login():
    client = sign_on().get("oidc")
    if client is None:
        return redirect(url_for("auth.login"))
    session["sso_next"] = request.args.get("next")
    try:
        return client.authorize_redirect(url_for("signon.oidc_callback", _external=True))
    except OAuthError:
        return _refused(Unavailable("统一身份认证服务暂时无法连接，请稍后再试"))


@bp.get("/login/oidc/callback")
def oidc_callback():
    client = sign_on().get("oidc")
    if client is None:
        return redirect(url_for("auth.login"))
    try:
        token = client.authorize_access_token()
    except (OAuthError, KeyError, ValueError):
        return _refused(AuthenticationFailed("统一身份认证未通过，请重新登录"))
    claims = token.get("userinfo") or {}
    username = str(claims.get(sign_on()["username_claim"]) or "")
    try:
        principal, secret, must_change = doors.sign_in_from_portal(
            engine(), "oidc", username, current_app.config["SESSION_ABSOLUTE_LIMIT"],
            portal_session=oidc.portal_session_key(claims))
    except AuthenticationFailed as exc:
        return _refused(exc)
    next_url = session.get("sso_next")
    response = signed_in(principal, secret, must_change, next_url, via="oidc")
    session["id_token"] = token.get("id_token")          # the hint single logout hands back to the provider
    return response


@bp.post("/login/oidc/backchannel-logout")
@csrf.exempt                    # server to server: the signed logout token is the proof
def oidc_backchannel_logout():
    """OpenID Connect back-channel logout: the provider ends the person's sessions here."""
    client = sign_on().get("oidc")
    if client is None:
        return "", 404
    try:
        metadata = client.load_server_metadata()
        jwks = client.fetch_jwk_set()
    except Exception:            # the provider's keys cannot be read: it will retry
        return "", 503
    try:
        oidc.backchannel_logout(engine(), request.form.get("logout_token", ""), jwks, metadata["issuer"],
                                client.client_id)
    except Invalid:
        return "", 400
    return "", 200, {"Cache-Control": "no-store"}


@bp.route("/login/cas", methods=["GET", "POST"])
@csrf.exempt                    # the CAS server's single-logout POST
def cas_login():
    server: CasServer | None = sign_on().get("cas")
    if server is None:
        return redirect(url_for("auth.login"))
    if request.method == "POST":            # CAS single logout: the server names the ticket a session came from
        cas_logout_request(engine(), request.form.get("logoutRequest", ""))
        return "", 200
    service = url_for("signon.cas_login", _external=True)
    ticket = request.args.get("ticket")
    if not ticket:
        session["sso_next"] = request.args.get("next")
        return redirect(server.login_url(service))
    try:
        principal, secret, must_change = cas_sign_in(engine(), server, service, ticket,
                                                     current_app.config["SESSION_ABSOLUTE_LIMIT"])
    except (AuthenticationFailed, Unavailable) as exc:
        return _refused(exc)
    return signed_in(principal, secret, must_change, session.get("sso_next"), via="cas")


def single_logout(via: str | None, id_token: str | None):
    """After our own session ended: a redirect that signs the person out of the portal too, or None."""
    back = url_for("auth.login", _external=True)
    if via == "oidc" and sign_on().get("oidc") is not None:
        try:
            end = sign_on()["oidc"].load_server_metadata().get("end_session_endpoint")
        except Exception:                      # the provider is down: our own sign-out stands
            end = None
        if end:
            query = {"post_logout_redirect_uri": back, "client_id": sign_on()["oidc"].client_id}
            if id_token:
                query["id_token_hint"] = id_token
            return redirect(f"{end}?{urlencode(query)}")
    if via == "cas" and sign_on().get("cas") is not None:
        return redirect(sign_on()["cas"].logout_url(back))
    return None
