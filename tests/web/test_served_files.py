"""Stored files come back as downloads, never as pages of the app's origin: a stored BPMN file is
user-supplied XML, and served inline from our origin a browser could render it (with its scripts)."""
from __future__ import annotations

import pytest

from tests.helpers.web import login
from tests.web.test_api import monthly  # noqa: F401  (fixture: the monthly report deployed)

pytestmark = pytest.mark.real_forms  # the shipped forms/ (it runs the shipped processes)


def test_a_stored_bpmn_version_is_an_attachment_that_is_never_sniffed(client, monthly):
    login(client, "nurse")
    resp = client.get("/modeler/monthly_report/versions/1.bpmn")
    assert resp.status_code == 200 and b"definitions" in resp.data
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
