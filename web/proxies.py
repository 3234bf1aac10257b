"""The client's address behind trusted reverse proxies. Without one configured, the socket's address
is the client's (X-Forwarded-For is anyone's to forge). With QINGLIAN_TRUSTED_PROXIES, a request
arriving from one of those proxies is credited to the right-most X-Forwarded-For hop that is not
itself a trusted proxy — never to an address the client wrote further left. The public page's rate
limit, the access log and /metrics' allow-list all see this address as `request.remote_addr`."""
from __future__ import annotations

import ipaddress


def networks(text: str) -> list:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def _trusted(addr: str, trusted: list) -> bool:
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(remote_addr: str, forwarded_for: str | None, trusted: list) -> str:
    if not trusted or not forwarded_for or not _trusted(remote_addr, trusted):
        return remote_addr
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote_addr          # garbage where the proxy should have written an address
    return remote_addr


class TrustedProxies:
    """WSGI middleware setting REMOTE_ADDR to the client's address as `client_address` finds it."""

    def __init__(self, app, trusted_text: str):
        self.app, self.trusted = app, networks(trusted_text)

    def __call__(self, environ, start_response):
        if self.trusted:
            environ["REMOTE_ADDR"] = client_address(environ.get("REMOTE_ADDR", ""),
                                                    environ.get("HTTP_X_FORWARDED_FOR"), self.trusted)
        return self.app(environ, start_response)
