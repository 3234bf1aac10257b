"""The public report page speaks the reader's language (a switch on the page itself, no sign-in) and
names the hospital's other reporting channels, as the settings give them."""
from __future__ import annotations

import pytest

from tests.helpers.web import csrf

pytestmark = pytest.mark.real_forms

CHANNELS = {"phone": "0571-12388", "address": "院纪检监察室（行政楼3楼）", "mailbox": "门诊大厅举报箱"}


@pytest.fixture
def app(engine):
    from engine.config import Settings
    from web import create_app
    settings = Settings.from_env({"QINGLIAN_REPORT_CHANNELS": __import__("json").dumps(CHANNELS)})
    return create_app(settings, engine=engine, testing=True, secret_key="test-secret")


def test_the_public_page_switches_language_and_lists_the_other_channels(app, people):
    client = app.test_client()
    page = client.get("/report").get_data(as_text=True)
    assert 'data-testid="language-switch"' in page and ">English<" in page
    assert "0571-12388" in page and "院纪检监察室（行政楼3楼）" in page and "门诊大厅举报箱" in page
    resp = client.post("/account/locale", data={"locale": "en", "next": "/report", "csrf_token": csrf(client, "/report")})
    assert resp.status_code == 302 and resp.headers["Location"] == "/report"
    page = client.get("/report").get_data(as_text=True)
    assert 'lang="en"' in page and "Other ways to report" in page and "Report hotline" in page
    assert ">中文<" in page


def test_without_channels_in_the_settings_the_page_shows_none(engine, people):
    from engine.config import Settings
    from web import create_app
    bare = create_app(Settings.from_env({}), engine=engine, testing=True, secret_key="test-secret")
    assert 'data-testid="channels"' not in bare.test_client().get("/report").get_data(as_text=True)
