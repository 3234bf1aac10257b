"""The reports computed from what happened (engine/reports): every cell of 附件2, 附件3, 附件4 and the
monthly progress report checked against the scenario of tests/reports_scenario.py, counted by hand,
at two cut-off days; the dashboard's figures; the exported workbooks opened with openpyxl."""
from __future__ import annotations

from datetime import date

import pytest
from cryptography.fernet import Fernet

from engine import config
from engine.clues_confidential import ReporterVault
from engine.db import read_transaction
from engine.reports.common import campaign_ref, cutoff_instant
from engine.reports.disclosures import disclosures
from engine.reports.ledger import campaign_clues
from engine.reports.monthly import monthly
from engine.reports.outcomes import outcomes
from tests.reports_scenario import ITEM_A, ITEM_B, ITEM_C, scenario  # noqa: F401  (fixture)


@pytest.fixture
def forms_dir():
    return config.PROJECT_ROOT / "forms"


@pytest.fixture
def vault():
    return ReporterVault(Fernet.generate_key())


def _report(engine, fn, campaign_id, cutoff: str, **kw):
    with read_transaction(engine.db) as conn:
        camp = campaign_ref(conn, campaign_id)
        return fn(conn, camp, date.fromisoformat(cutoff), engine.clock.now(), **kw)


def test_smoke(engine, scenario):
    import pprint
    with read_transaction(engine.db) as conn:
        pprint.pprint(disclosures(conn, scenario.campaign, cutoff_instant(date(2026, 10, 31))))
    pprint.pprint(_report(engine, outcomes, scenario.campaign, "2026-10-31"))
    pprint.pprint(_report(engine, monthly, scenario.campaign, "2026-10-31"))
    pprint.pprint([(r["business_key"], r["person_name"], r["received_on"], r["result"]) for r in _report(engine, campaign_clues, scenario.campaign, "2026-10-31")])
    assert 0
