from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.db.schema import staff
from engine.db.transactions import write_transaction
from tests.helpers.vendors import Running, Vendors

ADDRESSES = {"nurse": {"wecom_userid": "wx-nurse", "phone": "13800000001", "dingtalk_userid": "dd-nurse"},
             "nurse2": {"wecom_userid": "wx-nurse2-left", "phone": "13800000002"},
             "neike_head": {"wecom_userid": "wx-head", "phone": "13800000003"},
             "jijian": {"wecom_userid": "wx-jijian", "phone": "13800000004"}}


@pytest.fixture
def vendors():
    with Running(Vendors()) as running:
        yield running


@pytest.fixture
def reachable(db, people):
    """The people of the small organisation, with WeCom ids and mobile numbers."""
    with write_transaction(db) as conn:
        for username, values in ADDRESSES.items():
            conn.execute(staff.update().where(staff.c.username == username).values(**values))
    return people
