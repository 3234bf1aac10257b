"""Document numbers (文号): one sequence per kind and year, each number given out exactly once."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from engine.db.transactions import read_transaction, write_transaction
from engine.documents import numbering
from engine.errors import Conflict, ConcurrentUpdate, Invalid

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


def test_numbers_follow_the_hospital_prefix_kind_and_year(db):
    with write_transaction(db) as conn:
        numbering.configure(conn, prefix="市一院纪")
        first = numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
        second = numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
        other_kind = numbering.allocate(conn, "告", 2026, by="wang", now=NOW)
        next_year = numbering.allocate(conn, "函", 2027, by="wang", now=NOW)
    assert (first.text, second.text) == ("市一院纪函〔2026〕1号", "市一院纪函〔2026〕2号")
    assert other_kind.text == "市一院纪告〔2026〕1号"
    assert next_year.text == "市一院纪函〔2027〕1号"


def test_a_failed_transaction_gives_its_number_back_so_the_sequence_has_no_gap(db):
    with pytest.raises(RuntimeError):
        with write_transaction(db) as conn:
            numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
            raise RuntimeError("the document could not be stored")
    with write_transaction(db) as conn:
        assert numbering.allocate(conn, "函", 2026, by="wang", now=NOW).number == 1


def test_concurrent_requests_get_every_number_exactly_once_without_gaps(db):
    workers, each = 6, 5
    got: list[int] = []
    errors: list[Exception] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def work():
        start.wait()
        for _ in range(each):
            for _attempt in range(20):
                try:
                    with write_transaction(db) as conn:
                        n = numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
                    break
                except ConcurrentUpdate:       # SQLite's busy lock: the caller retries
                    continue
                except Exception as exc:       # pragma: no cover - reported below
                    with lock:
                        errors.append(exc)
                    return
            with lock:
                got.append(n.number)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == list(range(1, workers * each + 1))
    with read_transaction(db) as conn:
        recorded = [r["number"] for r in numbering.register(conn, "函", 2026)]
    assert recorded == list(range(1, workers * each + 1))


def test_a_voided_number_stays_recorded_and_is_never_given_again(db):
    with write_transaction(db) as conn:
        numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
        numbering.void(conn, "函", 2026, 1, by="li", now=NOW, reason="文件撤回重发")
        again = numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
    assert again.number == 2
    with read_transaction(db) as conn:
        rows = numbering.register(conn, "函", 2026)
    assert [(r["number"], r["status"], r["void_reason"]) for r in rows] == [
        (1, "voided", "文件撤回重发"), (2, "issued", None)]
    with write_transaction(db) as conn:
        with pytest.raises(Conflict):
            numbering.void(conn, "函", 2026, 1, by="li", now=NOW, reason="再次作废")
    with write_transaction(db) as conn:
        with pytest.raises(Invalid):
            numbering.void(conn, "函", 2026, 2, by="li", now=NOW, reason=" ")


def test_the_issuing_organ_follows_the_hospital_name_unless_set_for_documents(db, clock):
    from engine.org.hospital import set_name
    with write_transaction(db) as conn:
        assert numbering.hospital(conn) == numbering.DEFAULT_HOSPITAL
        set_name(conn, "绍兴市上虞第二人民医院", clock.now(), by="admin")
        assert numbering.hospital(conn) == "绍兴市上虞第二人民医院纪检监察室"
        numbering.configure(conn, hospital="中共绍兴市上虞第二人民医院纪律检查委员会")
        assert numbering.hospital(conn) == "中共绍兴市上虞第二人民医院纪律检查委员会"


def test_voiding_from_the_command_line_is_kept_in_the_administration_log(db, forms_dir, tmp_path):
    import json
    from click.testing import CliRunner
    import sqlalchemy as sa
    from engine.cli.main import main
    from engine.db.schema import event
    with write_transaction(db) as conn:
        numbering.allocate(conn, "函", 2026, by="wang", now=NOW)
    env = {"DATABASE_URL": db.url.render_as_string(hide_password=False), "QINGLIAN_FORMS_DIR": str(forms_dir),
           "QINGLIAN_PROCESSES_DIR": str(tmp_path / "none")}
    result = CliRunner().invoke(main, ["void-number", "函", "2026", "1", "--reason", "发错对象", "--as", "jijian"],
                                env=env, catch_exceptions=False)
    assert result.exit_code == 0 and "X纪函〔2026〕1号: voided (发错对象)" in result.output
    with read_transaction(db) as conn:
        logged = conn.execute(sa.select(event.c.actor, event.c.data_json)
                              .where(event.c.type == "document_number_voided")).one()
    assert logged.actor == "jijian" and json.loads(logged.data_json) == {"number": "X纪函〔2026〕1号", "reason": "发错对象"}
    again = CliRunner().invoke(main, ["void-number", "函", "2026", "1", "--reason", "再次"], env=env)
    assert again.exit_code != 0 and "已作废" in again.output
