from __future__ import annotations

import pytest

from engine.signon.ldap import Directory
from tests.helpers.slapd import BASE, SERVICE_DN, SERVICE_PASSWORD, Slapd


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    server = Slapd(tmp_path_factory.mktemp("slapd") / "ldap").start()
    yield server
    server.stop()


@pytest.fixture
def directory(slapd) -> Directory:
    return Directory(slapd.url, SERVICE_DN, SERVICE_PASSWORD, BASE, "(uid={username})",
                     group_roles={"neike-heads": "department_head", f"cn=jijian,ou=groups,{BASE}": "discipline_office"},
                     departments={"NK01": "neike", "JJ01": "jijian"})
