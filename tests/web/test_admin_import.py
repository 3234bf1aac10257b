"""The organisation import as a job in the database: staged, confirmed and reported on by any worker."""
from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import sqlalchemy as sa

from engine.config import Settings
from engine.db.schema import org_import, staff
from engine.db.transactions import create_db_engine
from engine.forms import FormCatalog
from engine.clock import IdSource
from engine.runtime.services import Engine
from tests.helpers.web import login, post

GOOD = "用户名,姓名,科室,职级,角色\nnew1,甲医生,neike,中层,职工\nnew2,乙护士,waike,其他,职工\n".encode()


def _second_worker(db, clock, forms_dir):
    """Another gunicorn worker: its own app, its own engine and pool, the same database."""
    from web import create_app
    other_db = create_db_engine(db.url.render_as_string(hide_password=False))
    other = Engine(other_db, FormCatalog(forms_dir), clock, IdSource(seed=8))
    return create_app(Settings.from_env(), engine=other, testing=True, secret_key="test-secret"), other_db


def _stage(client) -> str:
    page = "/admin/import"
    resp = post(client, page, {"file": (io.BytesIO(GOOD), "人员.csv")}, page=page, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return re.search(r'/admin/import/([\w-]+)"', resp.get_data(as_text=True)).group(1)


def test_an_import_previewed_on_one_worker_is_confirmed_on_another_and_polled_on_both(
        client, people, db, clock, forms_dir):
    second_app, second_db = _second_worker(db, clock, forms_dir)
    try:
        login(client, "admin")
        token = _stage(client)
        second = second_app.test_client()
        login(second, "admin")
        assert post(second, f"/admin/import/{token}", page="/admin/import").status_code == 302
        for _ in range(200):
            status = client.get(f"/admin/import/{token}/status").get_json()
            if status["state"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert status["state"] == "done" and status["done"] == status["total"] == 2, status
        assert second.get(f"/admin/import/{token}/status").get_json() == status
        assert "导入完成" in second.get(f"/admin/import/{token}").get_data(as_text=True)
        # confirming again runs nothing twice; the uploaded file is not kept once imported
        assert post(client, f"/admin/import/{token}", page="/admin/import").status_code == 302
        with db.connect() as conn:
            assert conn.execute(sa.select(org_import.c.content)).scalar() is None
            names = dict(conn.execute(sa.select(staff.c.username, staff.c.name)
                                      .where(staff.c.username.like("new%"))).all())
        assert names == {"new1": "甲医生", "new2": "乙护士"}
    finally:
        second_db.dispose()


def test_an_import_is_only_its_owners_and_a_dead_workers_job_is_reported_failed(client, people, db, clock):
    login(client, "admin")
    forgotten = _stage(client)
    with db.begin() as conn:       # not confirmed within half an hour: gone, and gone from the table too
        conn.execute(org_import.update().values(created_at=clock.now() - timedelta(hours=1)))
    assert client.get(f"/admin/import/{forgotten}/status").status_code == 404
    assert post(client, f"/admin/import/{forgotten}", page="/admin/import").status_code == 404
    token = _stage(client)
    with db.connect() as conn:
        assert conn.execute(sa.select(org_import.c.token)).scalars().all() == [token]
    with db.begin() as conn:       # as if a worker had claimed it and died long ago
        conn.execute(org_import.update().values(state="running", updated_at=clock.now() - timedelta(hours=1)))
    status = client.get(f"/admin/import/{token}/status").get_json()
    assert status["state"] == "failed" and status["error"] == "导入失败，未写入任何内容"
    assert client.get("/admin/import/nosuchtoken/status").status_code == 404
    with db.begin() as conn:
        conn.execute(org_import.update().values(owner="someone_else"))
    assert client.get(f"/admin/import/{token}/status").status_code == 404
