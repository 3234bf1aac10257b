"""One rule for "due soon": within the next two working days, in the inbox's colours as in its list."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from engine.db.schema import human_task
from engine.deadlines.workdays import BEIJING
from tests.helpers.web import login
from tests.web.test_pages import report  # noqa: F401  (fixture)

pytestmark = pytest.mark.real_forms


def _due(db, task_id, moment):
    with db.begin() as conn:
        conn.execute(sa.update(human_task).where(human_task.c.id == task_id).values(due_at=moment))


def test_a_task_due_in_two_working_days_is_due_soon_in_the_colours_as_in_the_list(client, report, db):
    # Monday 28 September 09:00; the end of Wednesday 30 September is two working days away
    # (but more than two calendar days)
    _due(db, report, datetime(2026, 10, 1, tzinfo=BEIJING))
    login(client, "neike_head")
    mine = client.get("/inbox?view=claimable").get_data(as_text=True)
    assert 'class="due-soon"' in mine
    assert report in client.get("/inbox?view=due_soon").get_data(as_text=True)


def test_a_task_due_after_the_national_day_holiday_is_not_due_soon(client, report, db):
    # the end of Friday 9 October: after 29 and 30 September, the holiday (1–7 October) and Thursday
    # 8 October, the fourth working day
    _due(db, report, datetime(2026, 10, 9, tzinfo=BEIJING))
    login(client, "neike_head")
    assert 'class="due-ok"' in client.get("/inbox?view=claimable").get_data(as_text=True)
    assert report not in client.get("/inbox?view=due_soon").get_data(as_text=True)
