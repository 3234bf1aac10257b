"""SQLite's write-ahead log is copied into the database by a background thread, and starts over.

Without it, the log grows until SQLite's own checkpoint, run by whichever commit crosses 10,000
pages, copies it all while that request waits.
"""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from engine.db.transactions import create_db_engine, write_transaction
from engine.db.wal_checkpoint import checkpointer


def _log_state(path) -> tuple[int, int]:
    """(frames in the log, frames already copied into the database), read from the shared-memory
    index without checkpointing anything: mxFrame of the index header, nBackfill after its two copies."""
    shm = (path.parent / (path.name + "-shm")).read_bytes()
    return int.from_bytes(shm[16:20], "little"), int.from_bytes(shm[96:100], "little")


def _commit_rows(db, n: int) -> None:
    for i in range(n):
        with write_transaction(db) as conn:
            conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": "x" * 3000 + str(i)})


def test_the_log_is_checkpointed_in_the_background_and_starts_over(tmp_path, monkeypatch):
    path = tmp_path / "wal.db"
    db = create_db_engine(f"sqlite:///{path}")
    with db.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    monkeypatch.setattr(checkpointer, "every_commits", 40)
    _commit_rows(db, 40)                      # the 40th asks the thread for a pass
    deadline = time.monotonic() + 10
    while (state := _log_state(path))[1] < state[0] and time.monotonic() < deadline:
        time.sleep(0.02)
    frames, copied = _log_state(path)
    assert frames >= 40 and copied == frames, "the thread did not copy the log into the database"
    _commit_rows(db, 2)     # the first writer after a pass finishes it; the next starts the log over
    frames_after, _ = _log_state(path)
    assert frames_after < 10
    db.dispose()


def test_a_deleted_database_is_not_created_again_by_the_thread(tmp_path):
    path = tmp_path / "gone.db"
    db = create_db_engine(f"sqlite:///{path}")
    with db.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    db.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"gone.db{suffix}").unlink(missing_ok=True)
    assert checkpointer._pass(str(path)) is False
    assert not path.exists()


def test_a_database_about_to_be_replaced_is_forgotten_and_no_pass_is_left_running_on_it(tmp_path, monkeypatch):
    """Replacing a database file under a running pass confuses SQLite's shared-memory index ("disk I/O
    error" on the next connection): `forget` waits for the running pass and drops what is due."""
    from engine.db.wal_checkpoint import WalCheckpointer
    keeper = WalCheckpointer(every_commits=1)
    inside, release, passed = threading.Event(), threading.Event(), []

    def slow_pass(path):
        passed.append(path)
        inside.set()
        release.wait(10)
        return True
    monkeypatch.setattr(keeper, "_pass", slow_pass)
    keeper.after_write(None, "a.db")              # due: the thread starts its pass, and waits inside it
    assert inside.wait(10)
    with keeper._lock:
        keeper._due.add("a.db")                   # written again meanwhile: due once more
        keeper._commits["a.db"] = 5
    forgotten = threading.Thread(target=keeper.forget, args=("a.db",))
    forgotten.start()
    time.sleep(0.1)
    assert forgotten.is_alive(), "forget returned while a pass was running"
    release.set()
    forgotten.join(10)
    assert not forgotten.is_alive()
    with keeper._lock:
        assert "a.db" not in keeper._due and "a.db" not in keeper._commits and "a.db" not in keeper._copied
    time.sleep(0.1)
    assert passed == ["a.db"], "a pass started on the forgotten database"
