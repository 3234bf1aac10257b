"""OIDC back-channel logout (OpenID Connect Back-Channel Logout 1.0): the provider POSTs a signed
`logout_token` naming the person's provider session (`sid`) or the person (`sub`); our sessions that
came from it end. (The sign-in itself is Authlib's Flask client, in web.signon.)"""
from __future__ import annotations

import time

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from engine.errors import Invalid, Problem
from engine.signon.doors import end_portal_session

EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_AGE = 300          # seconds a logout token stays believable


def portal_session_key(claims: dict) -> str | None:
    """What we remember of the provider's session at sign-in: its `sid`, else the person's `sub`."""
    if claims.get("sid"):
        return f"oidc:{claims['sid']}"
    return f"oidc-sub:{claims['sub']}" if claims.get("sub") else None


def _refuse(why: str):
    raise Invalid("注销请求无效", [Problem(why, field="logout_token", code="invalid_logout_token")])


def backchannel_logout(eng, logout_token: str, jwks: dict, issuer: str, client_id: str, now: float | None = None) -> int:
    """Check the logout token (signature against the provider's keys, issuer, audience, the logout
    event, no nonce, fresh) and end the sessions it names; `Invalid` when it does not hold."""
    try:
        decoded = jwt.decode(logout_token or "", KeySet.import_key_set(jwks), algorithms=["RS256", "ES256", "PS256"])
    except (JoseError, ValueError):
        _refuse("signature")
    claims = decoded.claims
    audience = claims.get("aud")
    audience = [audience] if isinstance(audience, str) else list(audience or [])
    now = time.time() if now is None else now
    if claims.get("iss") != issuer or client_id not in audience:
        _refuse("issuer or audience")
    if EVENT not in (claims.get("events") or {}) or "nonce" in claims:
        _refuse("not a logout token")
    if not isinstance(claims.get("iat"), (int, float)) or abs(now - claims["iat"]) > MAX_AGE:
        _refuse("stale")
    keys = [f"oidc:{claims['sid']}"] if claims.get("sid") else []
    keys += [f"oidc-sub:{claims['sub']}"] if claims.get("sub") else []
    if not keys:
        _refuse("names no session")
    return end_portal_session(eng, keys)
