"""The pages of messages and sign-on: a person's channels and quiet hours, the administrators' list of
messages that could not be sent (with a retry), and a person's way in and message accounts."""
from __future__ import annotations

import sqlalchemy as sa

from engine.db.schema import message_outbox, staff
from engine.db.transactions import write_transaction
from engine.deadlines import notifications
from engine.messages import outbox
from tests.helpers.web import login, post


def test_a_person_chooses_channels_and_quiet_hours_and_a_bad_time_is_refused_with_input_kept(client, people, db):
    with write_transaction(db) as conn:
        conn.execute(staff.update().where(staff.c.username == "nurse").values(wecom_userid="wx-nurse"))
    login(client, "nurse")
    refused = post(client, "/account/messages", {"channels": ["wecom"], "quiet_start": "25:00", "quiet_end": "07:00"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请按 时:分 填写" in page and 'value="25:00"' in page
    saved = post(client, "/account/messages", {"channels": ["wecom"], "quiet_start": "22:00", "quiet_end": "07:00"})
    assert saved.status_code == 302
    page = client.get("/account/messages").get_data(as_text=True)
    assert 'value="22:00"' in page and 'value="wecom" checked' in page


def test_admins_see_messages_that_failed_and_send_them_again(client, people, db, clock):
    with write_transaction(db) as conn:
        conn.execute(staff.update().where(staff.c.username == "nurse").values(wecom_userid="wx-nurse"))
        notifications.add(conn, kind="reminder", title="任务即将到期：月度报告", body="b", now=clock.now(), user="nurse")
        outbox.fan_out(conn, clock.now())                      # the scheduler's tick writes its message
        conn.execute(message_outbox.update().values(state="failed", attempts=8, last_error="企业微信: 60020 not allow"))
        row_id = conn.execute(sa.select(message_outbox.c.id)).scalar()
    login(client, "admin")
    page = client.get("/admin/messages").get_data(as_text=True)
    assert "王护士" in page and "60020" in page and "任务即将到期：月度报告" in page
    assert post(client, f"/admin/messages/{row_id}/retry", page="/admin/messages").status_code == 302
    with db.connect() as conn:
        assert conn.execute(sa.select(message_outbox.c.state)).scalar() == "pending"
    assert post(client, f"/admin/messages/{row_id}/retry", page="/admin/messages").status_code == 404


def test_an_admin_gives_a_person_single_sign_on_and_their_password_stops_working(app, people, db):
    admin = app.test_client()
    login(admin, "admin")
    refused = post(admin, "/admin/staff/nurse/sign-on", {"sign_in_method": "oidc", "phone": "call me"},
                   page="/admin/staff/nurse/sign-on")
    assert refused.status_code == 422 and "请填写手机号码" in refused.get_data(as_text=True)
    saved = post(admin, "/admin/staff/nurse/sign-on", {"sign_in_method": "oidc", "phone": "13800000001",
                                                       "wecom_userid": "wx-nurse"}, page="/admin/staff/nurse/sign-on")
    assert saved.status_code == 302
    with db.connect() as conn:
        row = conn.execute(sa.select(staff).where(staff.c.username == "nurse")).one()
    assert (row.sign_in_method, row.phone, row.wecom_userid) == ("oidc", "13800000001", "wx-nurse")
    assert login(app.test_client(), "nurse").status_code == 401
    audit = app.test_client()
    login(audit, "auditor")
    assert "sign_on_changed" in audit.get("/audit/administration").get_data(as_text=True)
