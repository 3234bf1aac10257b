"""Signing in where staff already are, end to end over HTTP: an OpenID provider (Authlib's
authorization server, on a local port) with PKCE and single logout, a CAS server (2.0 and 3.0), and
the hospital's directory (a real slapd) behind the ordinary sign-in form. Each person has one way in."""
from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engine.config import Settings
from engine.signon import doors
from tests.helpers.slapd import BASE, SERVICE_DN, SERVICE_PASSWORD, Slapd
from tests.helpers.sso import CLIENT_ID, CLIENT_SECRET, CasServer, OidcProvider
from tests.helpers.web import csrf, login, post
from web import create_app


@pytest.fixture(scope="module")
def provider():
    with OidcProvider() as running:
        yield running


@pytest.fixture(scope="module")
def cas():
    with CasServer() as running:
        yield running


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = Slapd(tmp_path_factory.mktemp("slapd") / "ldap").start()
    yield server
    server.stop()


def _app(engine, **env):
    settings = Settings.from_env({**os.environ, **env})
    return create_app(settings, engine=engine, testing=True, secret_key="test-secret")


@pytest.fixture
def sso_client(engine, people, provider, cas, slapd):
    doors.set_method(engine, "nurse", "oidc", by="admin")
    doors.set_method(engine, "surgeon", "cas", by="admin")
    app = _app(engine, QINGLIAN_OIDC_ISSUER=provider.issuer, QINGLIAN_OIDC_CLIENT_ID=CLIENT_ID,
               QINGLIAN_OIDC_CLIENT_SECRET=CLIENT_SECRET, QINGLIAN_CAS_URL=cas.url,
               QINGLIAN_LDAP_URL=slapd.url, QINGLIAN_LDAP_BIND_DN=SERVICE_DN,
               QINGLIAN_LDAP_BIND_PASSWORD=SERVICE_PASSWORD, QINGLIAN_LDAP_BASE_DN=BASE,
               QINGLIAN_LDAP_DEPARTMENTS='{"NK01": "neike", "JJ01": "jijian"}',
               QINGLIAN_LDAP_GROUP_ROLES='{"jijian": "discipline_office"}')
    return app.test_client()


def _through_provider(client, provider, user: str, next_path: str | None = None):
    provider.user = user
    start = client.get("/login/oidc" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer + "/authorize")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]     # PKCE
    back = httpx.get(authorize, follow_redirects=False)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_a_person_signs_in_through_the_hospital_portal_with_pkce(sso_client, provider):
    done = _through_provider(sso_client, provider, "nurse", "/inbox")
    assert done.status_code == 302 and done.headers["Location"].endswith("/inbox")
    assert "王护士" in sso_client.get("/inbox").get_data(as_text=True)
    assert provider.token_requests[-1]["code_verifier"]                   # the verifier went with the code


def test_signing_out_signs_out_of_the_portal_too(sso_client, provider):
    _through_provider(sso_client, provider, "nurse")
    out = post(sso_client, "/logout")
    assert out.status_code == 302 and out.headers["Location"].startswith(provider.issuer + "/logout")
    query = parse_qs(urlsplit(out.headers["Location"]).query)
    assert query["id_token_hint"] and query["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert sso_client.get("/inbox").status_code == 302                   # our own session ended first


def test_the_portal_cannot_sign_in_someone_whose_way_in_is_a_local_password(sso_client, provider):
    refused = _through_provider(sso_client, provider, "admin")
    assert refused.status_code == 401 and "不能用这种方式登录" in refused.get_data(as_text=True)
    assert sso_client.get("/inbox").status_code == 302


def test_a_person_whose_way_in_is_the_portal_cannot_use_a_password(sso_client):
    assert login(sso_client, "nurse").status_code == 401


def test_a_forged_callback_is_refused(sso_client, provider):
    provider.user = "nurse"
    sso_client.get("/login/oidc")
    refused = sso_client.get("/login/oidc/callback?code=made-up&state=made-up")
    assert refused.status_code == 401
    assert sso_client.get("/inbox").status_code == 302


def test_cas_sign_in_and_single_logout(sso_client, cas):
    cas.user = "surgeon"
    start = sso_client.get("/login/cas")
    assert start.status_code == 302 and start.headers["Location"].startswith(cas.url + "/login?service=")
    back = httpx.get(start.headers["Location"], follow_redirects=False)
    ticket_url = urlsplit(back.headers["Location"])
    done = sso_client.get(f"{ticket_url.path}?{ticket_url.query}")
    assert done.status_code == 302
    assert "赵医生" in sso_client.get("/inbox").get_data(as_text=True)
    replay = sso_client.get(f"{ticket_url.path}?{ticket_url.query}")   # a ticket is good once
    assert replay.status_code == 401
    out = post(sso_client, "/logout")
    assert out.headers["Location"].startswith(cas.url + "/logout?service=")


def test_cas_2_0_is_spoken_too(engine, people, cas):
    doors.set_method(engine, "surgeon", "cas", by="admin")
    client = _app(engine, QINGLIAN_CAS_URL=cas.url, QINGLIAN_CAS_VERSION="2").test_client()
    cas.user = "surgeon"
    back = httpx.get(client.get("/login/cas").headers["Location"], follow_redirects=False)
    url = urlsplit(back.headers["Location"])
    assert client.get(f"{url.path}?{url.query}").status_code == 302
    assert "赵医生" in client.get("/inbox").get_data(as_text=True)


def test_a_directory_person_signs_in_on_the_ordinary_form(sso_client):
    resp = sso_client.post("/login", data={"username": "lijun", "password": "Li-jun-2026",
                                           "csrf_token": csrf(sso_client)})
    # the directory makes 李军 a discipline-office member: a second factor, enrolled at first sign-in
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/enrol")
    assert sso_client.get("/inbox").status_code == 302
    person = sso_client.application.test_client()
    assert login(person, "lijun", "Li-jun-2026").status_code == 200          # enrols, shown the recovery codes
    assert "李军" in person.get("/inbox").get_data(as_text=True)


def test_the_sign_in_page_offers_the_portals_configured(sso_client):
    page = sso_client.get("/login").get_data(as_text=True)
    assert "/login/oidc" in page and "/login/cas" in page


def test_the_portal_signs_a_person_out_here_through_the_back_channel(sso_client, provider):
    from joserfc.jwk import RSAKey
    _through_provider(sso_client, provider, "nurse")
    other = sso_client.application.test_client()
    forged = provider.logout_token("nurse", key=RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True))
    assert other.post("/login/oidc/backchannel-logout", data={"logout_token": forged}).status_code == 400
    stale = provider.logout_token("nurse", iat=1)
    assert other.post("/login/oidc/backchannel-logout", data={"logout_token": stale}).status_code == 400
    assert sso_client.get("/inbox").status_code == 200                  # still signed in
    token = provider.logout_token("nurse")
    assert other.post("/login/oidc/backchannel-logout", data={"logout_token": token}).status_code == 200
    assert sso_client.get("/inbox").status_code == 302                  # the portal ended it


def test_the_cas_server_signs_a_person_out_here(sso_client, cas):
    cas.user = "surgeon"
    back = httpx.get(sso_client.get("/login/cas").headers["Location"], follow_redirects=False)
    url = urlsplit(back.headers["Location"])
    sso_client.get(f"{url.path}?{url.query}")
    assert sso_client.get("/inbox").status_code == 200
    ticket = parse_qs(url.query)["ticket"][0]
    other = sso_client.application.test_client()
    assert other.post("/login/cas", data={"logoutRequest": cas.logout_request("ST-unknown")}).status_code == 200
    assert sso_client.get("/inbox").status_code == 200
    assert other.post("/login/cas", data={"logoutRequest": cas.logout_request(ticket)}).status_code == 200
    assert sso_client.get("/inbox").status_code == 302
