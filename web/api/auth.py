"""Bearer tokens: issue one for a username and password, revoke it, and guard every other route.

The API reads only `Authorization: Bearer <token>` — never the pages' session cookie — so a page in
another tab cannot make the browser call it (no CSRF), and every call says who is asking.
"""
from __future__ import annotations

from copy import deepcopy
from functools import wraps

from flask import g, request
from flask_smorest.utils import load_info_from_docstring

from engine.org import accounts
from engine.org.accounts import AuthenticationFailed
from engine.errors import Forbidden

from ..session import engine
from .base import api_blueprint
from .errors import document_errors
from .schemas import TokenRequestSchema, TokenSchema

SCHEME = "bearerAuth"

bp = api_blueprint("tokens", __name__,
                   "Bearer tokens: every other operation needs `Authorization: Bearer <token>`")


class MissingToken(AuthenticationFailed):
    code = "token_required"


class InvalidToken(AuthenticationFailed):
    code = "invalid_token"


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_required(*roles: str):
    """A valid token (401 otherwise) whose holder has one of `roles`, if any are given (403 otherwise).
    The holder is `g.api_principal`, the token `g.api_token`."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = _bearer()
            if token is None:
                raise MissingToken("请在 Authorization 头中提供访问令牌（Bearer）")
            seen = g.get("token_holder")
            if seen is not None and seen[0] == token:       # looked up already in this request
                principal = seen[1]
            else:
                principal = accounts.principal_for_token(engine(), token)
            if principal is None:
                raise InvalidToken("访问令牌无效或已过期，请重新获取")
            if roles and not principal.has(*roles):
                raise Forbidden("你没有执行此操作的角色（需要：" + "、".join(roles) + "）")
            g.api_principal, g.api_token = principal, token
            return view(*args, **kwargs)

        wrapped._apidoc = deepcopy(getattr(view, "_apidoc", {}))
        manual = wrapped._apidoc.setdefault("manual_doc", {})
        manual["security"] = [{SCHEME: []}]
        if roles:
            manual["x-roles"] = list(roles)
            described = manual.get("description") or load_info_from_docstring(view.__doc__ or "").get("description")
            note = "Roles: " + ", ".join(f"`{r}`" for r in roles) + "."
            manual["description"] = f"{described or ''}\n\n{note}".strip()
        return document_errors(401, 403)(wrapped)
    return decorator


@bp.route("/auth/token", methods=["POST"])
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
@document_errors(400, 401)
def issue_token(body):
    """Get a token

    Checks the username and password like the sign-in page: repeated failures lock the account
    for a while. The token lasts `TOKEN_LIFETIME` (12 hours)."""
    token, expires_at = accounts.sign_in_for_token(engine(), body["username"], body["password"],
                                                   request.remote_addr)
    return {"token": token, "expires_at": expires_at}


@bp.route("/auth/token", methods=["DELETE"])
@token_required()
@bp.response(204)
def revoke_token():
    """Revoke the token this request carries"""
    accounts.revoke(engine(), g.api_token)
