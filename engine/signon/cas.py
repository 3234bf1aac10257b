"""CAS 2.0 / 3.0 service ticket validation (`/serviceValidate`, `/p3/serviceValidate`), as the
Apereo CAS protocol specification describes: the answer is XML in the namespace
http://www.yale.edu/tp/cas — `authenticationSuccess/user` (and, in 3.0, `attributes`) or
`authenticationFailure` with a code."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from defusedxml import ElementTree

from engine.errors import Unavailable
from engine.org.accounts import AuthenticationFailed

NS = "{http://www.yale.edu/tp/cas}"


@dataclass(frozen=True)
class CasServer:
    url: str            # the prefix, e.g. https://sso.hospital.example/cas
    version: int = 3

    @classmethod
    def from_settings(cls, settings) -> "CasServer | None":
        return cls(settings.cas_url, settings.cas_version) if settings.cas_url else None

    def login_url(self, service: str) -> str:
        return f"{self.url}/login?{urlencode({'service': service})}"

    def logout_url(self, service: str) -> str:
        return f"{self.url}/logout?{urlencode({'service': service})}"

    def validate(self, service: str, ticket: str) -> tuple[str, dict]:
        """The username and attributes the server vouches for with `ticket` for `service`."""
        path = "/p3/serviceValidate" if self.version >= 3 else "/serviceValidate"
        try:
            response = httpx.get(self.url + path, params={"service": service, "ticket": ticket}, timeout=10)
        except httpx.HTTPError as exc:
            raise Unavailable("统一身份认证服务暂时无法连接，请稍后再试", detail=type(exc).__name__) from None
        try:
            root = ElementTree.fromstring(response.content)
        except ElementTree.ParseError:
            raise Unavailable("统一身份认证服务的应答无法识别", detail=f"HTTP {response.status_code}") from None
        success = root.find(f"{NS}authenticationSuccess")
        if success is None:
            failure = root.find(f"{NS}authenticationFailure")
            code = failure.get("code") if failure is not None else "UNKNOWN"
            raise AuthenticationFailed("统一身份认证未通过，请重新登录", cas_code=code)
        user = (success.findtext(f"{NS}user") or "").strip()
        attributes = {}
        found = success.find(f"{NS}attributes")
        for child in (list(found) if found is not None else []):
            attributes.setdefault(child.tag.replace(NS, ""), []).append(child.text or "")
        if not user:
            raise AuthenticationFailed("统一身份认证未通过，请重新登录", cas_code="NO_USER")
        return user, attributes


def cas_sign_in(eng, server: CasServer, service: str, ticket: str, lifetime):
    """Validate the ticket and open the session of the person it names (their way in must be `cas`)."""
    from engine.signon.doors import sign_in_from_portal
    username, _ = server.validate(service, ticket)
    return sign_in_from_portal(eng, "cas", username, lifetime, portal_session=f"cas:{ticket}")


def cas_logout_request(eng, xml: str) -> int:
    """CAS single logout: the server POSTs a SAML `LogoutRequest` naming the service ticket
    (`SessionIndex`) a session came from; that session ends."""
    from engine.signon.doors import end_portal_session
    try:
        root = ElementTree.fromstring(xml.encode())
    except ElementTree.ParseError:
        return 0
    index = root.findtext("{urn:oasis:names:tc:SAML:2.0:protocol}SessionIndex") or ""
    return end_portal_session(eng, [f"cas:{index.strip()}"]) if index.strip() else 0
