"""Process analytics from the event log: every figure on a small hand-made log, the incremental
summaries equal to a full recomputation, and who may read them (confidentiality, recusal)."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from engine.audit.analytics import service, summary
from engine.db.schema import (analytics_duration, analytics_instance, analytics_step, analytics_variant,
                              process_version, recusal)
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Forbidden, NotFound
from engine.org.people import principal
from tests.helpers import analytics_log as log

pytestmark = pytest.mark.both_databases
HOUR = 3600.0


def _version(db) -> int:
    with read_transaction(db) as conn:
        return conn.execute(sa.select(process_version.c.id).where(process_version.c.process_key == "w1_process")).scalar()


def _who(db, username):
    with read_transaction(db) as conn:
        return principal(conn, username)


@pytest.fixture
def w1(db, deploy, people):
    deploy("w1.bpmn")
    return _version(db)


def test_each_figure_of_a_hand_made_log(db, engine, clock, w1):
    log.the_log(db, w1)
    assert service.refresh(engine) == 4
    page = service.page(engine, _who(db, "auditor"), w1)
    f = page["figures"]
    fill, review = f["steps"]["fill"], f["steps"]["review"]
    # fill: cycles 3 h, 6 h, 2 h, 1 h (the sent-back review does not count; i4's open fill neither)
    assert (fill["completed"], fill["with_due"], fill["overdue"], fill["overdue_rate"]) == (4, 4, 2, 0.5)
    assert fill["cycle"] == {"mean": 3 * HOUR, "median": 2 * HOUR, "p90": 6 * HOUR}
    assert fill["wait"] == {"mean": 1.375 * HOUR, "median": 1 * HOUR, "p90": 2 * HOUR}
    assert fill["work"] == {"mean": 1.625 * HOUR, "median": 0.5 * HOUR, "p90": 4 * HOUR}
    # review: 1 h unclaimed (all waiting), and 24 h after being sent back and ready again
    assert (review["completed"], review["with_due"], review["overdue_rate"]) == (2, 0, None)
    assert review["cycle"] == {"mean": 12.5 * HOUR, "median": 1 * HOUR, "p90": 24 * HOUR}
    assert review["work"]["p90"] == 0
    # the task's department, else the performer's (纪检 for the review)
    assert f["departments"] == {
        "neike": {"completed": 2, "with_due": 2, "overdue": 1, "overdue_rate": 0.5},
        "waike": {"completed": 2, "with_due": 2, "overdue": 1, "overdue_rate": 0.5},
        "jijian": {"completed": 2, "with_due": 0, "overdue": 0, "overdue_rate": None}}
    assert f["step_departments"][("fill", "waike")] == {"completed": 2, "with_due": 2, "overdue": 1, "overdue_rate": 0.5}
    assert f["step_departments"][("review", "jijian")]["completed"] == 2 and len(f["step_departments"]) == 3
    assert f["finished"] == 3 and f["variant_count"] == 3
    assert sorted((v["steps"], v["n"]) for v in f["variants"]) == [
        (["fill"], 1), (["fill", "fill", "review"], 1), (["fill", "review"], 1)]
    assert page["as_of"] == clock.now()                      # every event written before it is counted


def test_the_date_range_counts_steps_by_completion_day_and_variants_by_end_day(db, engine, w1):
    log.the_log(db, w1)
    service.refresh(engine)
    f = service.page(engine, _who(db, "auditor"), w1, None, date(2026, 9, 28))["figures"]
    assert f["steps"]["review"]["completed"] == 1          # the 24-hour review ended on the 29th
    assert f["steps"]["review"]["cycle"]["p90"] == HOUR
    assert sorted(v["steps"] for v in f["variants"]) == [["fill"], ["fill", "review"]]
    later = service.page(engine, _who(db, "auditor"), w1, date(2026, 9, 29), date(2026, 9, 29))["figures"]
    assert list(later["steps"]) == ["review"] and later["finished"] == 1


def _tables(db) -> dict:
    with read_transaction(db) as conn:
        out = {}
        for t in (analytics_step, analytics_duration, analytics_variant, analytics_instance):
            rows = conn.execute(sa.select(t)).all()
            out[t.name] = sorted(tuple(round(x, 6) if isinstance(x, float) else x for x in r) for r in rows)
        return out


def test_incremental_summaries_equal_a_full_recomputation(db, engine, w1):
    log.first_half(db, w1)
    assert service.refresh(engine) == 3
    assert service.refresh(engine) == 0                      # nothing new: nothing counted twice
    assert service.page(engine, _who(db, "auditor"), w1)["figures"]["steps"]["fill"]["completed"] == 2
    log.second_half(db, w1)
    assert service.page(engine, _who(db, "auditor"), w1)["figures"]["finished"] == 1    # until the next refresh
    assert service.refresh(engine) == 2                      # i2 grew, i3 is new
    incremental = _tables(db)
    assert service.rebuild(engine) == 4
    assert _tables(db) == incremental


def test_a_refresh_in_batches_of_one_counts_the_same(db, engine, w1, monkeypatch):
    log.the_log(db, w1)
    service.refresh(engine)
    whole = _tables(db)
    monkeypatch.setattr(summary, "BATCH", 1)
    assert service.rebuild(engine) == 4
    assert _tables(db) == whole


def test_an_engine_run_is_counted_as_its_events_say(db, engine, clock, w1):
    """The events the engine writes (not only hand-made ones) fold as described."""
    from datetime import timedelta
    a = engine.start("w1_process", started_by="alice")
    clock.advance(timedelta(hours=1))
    engine.claim(a.tasks[0].id, user="nurse")
    clock.advance(timedelta(hours=2))
    a = engine.complete_task(a.tasks[0].id, user="nurse", data={"approved": True})
    b = engine.start("w1_process", started_by="alice")
    clock.advance(timedelta(hours=4))
    engine.complete_task(b.tasks[0].id, user="nurse2", data={"approved": False})
    engine.complete_task(a.tasks[0].id, user="jijian", data={})
    service.refresh(engine)
    f = service.page(engine, _who(db, "owner"), w1)["figures"]
    assert f["steps"]["fill"]["cycle"]["median"] == 3 * HOUR and f["steps"]["fill"]["cycle"]["p90"] == 4 * HOUR
    assert f["steps"]["fill"]["wait"]["median"] == HOUR
    assert f["steps"]["review"]["cycle"]["median"] == 4 * HOUR
    assert sorted((v["steps"], v["n"]) for v in f["variants"]) == [(["fill"], 1), (["fill", "review"], 1)]
    assert f["departments"]["neike"]["completed"] == 2


def test_only_owners_and_auditors_read_analytics(db, engine, w1):
    for username in ("auditor", "owner", "jijian", "admin"):
        service.page(engine, _who(db, username), w1)
    for username in ("nurse", "neike_head", "security"):
        with pytest.raises(Forbidden):
            service.page(engine, _who(db, username), w1)
        with pytest.raises(Forbidden):
            service.versions(engine, _who(db, username))


def _confidential_copy(db, w1) -> int:
    """The w1 version again as a confidential process naming only the discipline office."""
    with write_transaction(db) as conn:
        row = conn.execute(sa.select(process_version).where(process_version.c.id == w1)).one()
        values = {k: v for k, v in row._mapping.items() if k != "id"}
        values.update(process_key="secret_w1", meta_json='{"process": {"confidential": ["discipline_office"]}}')
        return conn.execute(process_version.insert().values(**values)).inserted_primary_key[0]


def test_a_confidential_process_is_not_found_for_readers_without_its_roles(db, engine, w1):
    secret = _confidential_copy(db, w1)
    log.write(db, secret, "s1", [log.ready(log.T, "x1", "fill"), log.completed(log.T + log.H, "x1", "fill", "jijian")],
              key="secret_w1")
    service.refresh(engine)
    assert service.page(engine, _who(db, "jijian"), secret)["figures"]["steps"]["fill"]["completed"] == 1
    for username in ("auditor", "owner", "admin"):
        with pytest.raises(NotFound):
            service.page(engine, _who(db, username), secret)
        assert secret not in [v.id for v in service.versions(engine, _who(db, username))]
    assert secret in [v.id for v in service.versions(engine, _who(db, "jijian"))]


def test_a_reader_recused_from_an_instance_reads_figures_without_it(db, engine, w1):
    log.the_log(db, w1)
    service.refresh(engine)
    with write_transaction(db) as conn:
        conn.execute(recusal.insert().values(instance_id="i1", username="owner", kind="concerned",
                                             created_at=log.T))
    mine = service.page(engine, _who(db, "owner"), w1)["figures"]
    fill = mine["steps"]["fill"]
    assert (fill["completed"], fill["overdue"]) == (3, 1)
    assert fill["cycle"] == {"mean": 3 * HOUR, "median": 2 * HOUR, "p90": 6 * HOUR}
    assert mine["steps"]["review"]["completed"] == 1
    assert mine["departments"]["neike"] == {"completed": 1, "with_due": 1, "overdue": 0, "overdue_rate": 0.0}
    assert mine["step_departments"][("fill", "neike")]["overdue"] == 0
    assert sorted(v["steps"] for v in mine["variants"]) == [["fill"], ["fill", "fill", "review"]]
    theirs = service.page(engine, _who(db, "auditor"), w1)["figures"]       # others still see it all
    assert theirs["steps"]["fill"]["completed"] == 4


def test_the_scheduler_keeps_the_summaries_current(db, engine, w1):
    from engine.bootstrap import scheduled_jobs
    from engine.config import Settings
    jobs = scheduled_jobs(Settings.from_env({"QINGLIAN_DIGEST_HOURS": "0", "QINGLIAN_ANALYTICS_MINUTES": "2"}), engine)
    [(job_id, minutes, run)] = [j for j in jobs if j[0] == "qinglian-analytics"]
    assert (job_id, minutes) == ("qinglian-analytics", 2)
    log.the_log(db, w1)
    assert run() == 4 and run() == 0
    assert service.page(engine, _who(db, "owner"), w1)["figures"]["finished"] == 3


def test_refreshes_running_at_once_count_every_event_once(db, engine, w1):
    """Two schedulers' refreshes at the same moment: whichever moves a watermark first counts the
    events behind it; the other's batch rolls back (or finds nothing) — the sums stay exact."""
    import threading
    log.first_half(db, w1)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            service.refresh(engine)
        except Exception as exc:          # noqa: BLE001  (the test reports it)
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.second_half(db, w1)
    service.refresh(engine)
    assert not errors, errors
    together = _tables(db)
    service.rebuild(engine)
    assert _tables(db) == together
