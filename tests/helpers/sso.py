"""Single sign-on servers for the tests, on local ports in threads:

- `OidcProvider`: an OpenID provider built with Authlib's authorization server
  (`authlib.integrations.flask_oauth2`, the authorization code grant with PKCE required and
  `authlib.oidc.core`'s OpenIDCode extension), RS256 ID tokens, a discovery document, JWKS and an
  end-session endpoint. The person "signed in at the portal" is `provider.user`.
- `CasServer`: CAS 2.0/3.0 — `/login` issues a service ticket, `/serviceValidate` and
  `/p3/serviceValidate` answer the documented XML, `/logout` records and redirects.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, Response, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

CLIENT_ID, CLIENT_SECRET = "qinglian", "oidc-client-secret"


class _Client(ClientMixin):
    def get_client_id(self):
        return CLIENT_ID

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile", "email"))

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri.endswith("/login/oidc/callback")

    def check_client_secret(self, client_secret):
        return client_secret == CLIENT_SECRET

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class _Code:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class OidcProvider:
    def __init__(self):
        self.user: str | None = None           # who is signed in at the portal
        self.codes: dict[str, _Code] = {}
        self.token_requests: list[dict] = []
        self.logouts: list[dict] = []
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def sid(self, user: str) -> str:
        """The provider's session of `user` (one per person here)."""
        return f"portal-session-{user}"

    def logout_token(self, user: str, *, key=None, **overrides) -> str:
        """A back-channel logout token for `user`'s provider session, signed with the provider's key
        (or `key`)."""
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": int(time.time()), "jti": secrets.token_hex(8),
                  "sub": f"sub-{user}", "sid": self.sid(user),
                  "events": {"http://schemas.openid.net/event/backchannel-logout": {}}, **overrides}
        return jwt.encode({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"}, claims, key or self.key)

    def _app(self) -> Flask:
        app = Flask("oidc-provider")
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                data = req.payload.data
                provider.codes[code] = _Code(code=code, user=req.user, redirect_uri=req.payload.redirect_uri,
                                             scope=req.payload.scope, nonce=data.get("nonce"),
                                             auth_time=int(time.time()), code_challenge=data.get("code_challenge"),
                                             code_challenge_method=data.get("code_challenge_method"))

            def query_authorization_code(self, code, client):
                return provider.codes.get(code)

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class Code(OpenIDCode):
            def exists_nonce(self, nonce, req):
                return False

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [CLIENT_ID]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "k1"}

            def generate_user_info(self, user, scope):
                return UserInfo(sub=f"sub-{user}", preferred_username=user, name=user, sid=provider.sid(user))

        server = AuthorizationServer(app, query_client=lambda cid: _Client() if cid == CLIENT_ID else None,
                                     save_token=lambda token, req: None)
        server.register_grant(CodeGrant, [Code(require_nonce=False), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.issuer, authorization_endpoint=f"{self.issuer}/authorize",
                           token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/jwks",
                           end_session_endpoint=f"{self.issuer}/logout", response_types_supported=["code"],
                           subject_types_supported=["public"], id_token_signing_alg_values_supported=["RS256"],
                           code_challenge_methods_supported=["S256"])

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            return server.create_authorization_response(grant_user=self.user)

        @app.post("/token")
        def token():
            self.token_requests.append(request.form.to_dict())
            return server.create_token_response()

        @app.get("/logout")
        def logout():
            self.logouts.append(request.args.to_dict())
            return redirect(request.args["post_logout_redirect_uri"])

        return app


class CasServer:
    def __init__(self):
        self.user: str | None = None
        self.tickets: dict[str, tuple[str, str]] = {}      # ticket → (service, user)
        self.logouts: list[str] = []
        self._n = itertools.count(1)
        self.server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cas"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def logout_request(self, ticket: str) -> str:
        """The SAML LogoutRequest a CAS server POSTs to a service for single logout."""
        return ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
                'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="LR-1" Version="2.0" '
                'IssueInstant="2026-12-07T10:00:00Z"><saml:NameID>@NOT_USED@</saml:NameID>'
                f"<samlp:SessionIndex>{ticket}</samlp:SessionIndex></samlp:LogoutRequest>")

    def _app(self) -> Flask:
        app = Flask("cas")

        @app.get("/cas/login")
        def login():
            service = request.args["service"]
            ticket = f"ST-{next(self._n)}-{secrets.token_hex(8)}"
            self.tickets[ticket] = (service, self.user)
            sep = "&" if "?" in service else "?"
            return redirect(f"{service}{sep}{urlencode({'ticket': ticket})}")

        def validate(version: int):
            ticket, service = request.args.get("ticket", ""), request.args.get("service", "")
            found = self.tickets.pop(ticket, None)              # a ticket is good for one validation
            ns = 'xmlns:cas="http://www.yale.edu/tp/cas"'
            if found is None or found[0] != service:
                code = "INVALID_TICKET" if found is None else "INVALID_SERVICE"
                body = (f'<cas:serviceResponse {ns}><cas:authenticationFailure code="{code}">'
                        f"Ticket {ticket} not recognized</cas:authenticationFailure></cas:serviceResponse>")
            else:
                attributes = ("<cas:attributes><cas:displayName>someone</cas:displayName>"
                              "<cas:memberOf>staff</cas:memberOf></cas:attributes>") if version == 3 else ""
                body = (f"<cas:serviceResponse {ns}><cas:authenticationSuccess><cas:user>{found[1]}</cas:user>"
                        f"{attributes}</cas:authenticationSuccess></cas:serviceResponse>")
            return Response(body, content_type="application/xml; charset=utf-8")

        app.add_url_rule("/cas/serviceValidate", "v2", lambda: validate(2))
        app.add_url_rule("/cas/p3/serviceValidate", "v3", lambda: validate(3))

        @app.get("/cas/logout")
        def logout():
            self.logouts.append(request.args.get("service", ""))
            return redirect(request.args.get("service") or "/cas/login")

        return app
