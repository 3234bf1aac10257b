"""SQLite WAL checkpoints in a background thread, so that commits do not pay for them.

In WAL mode a commit appends pages to the write-ahead log; a checkpoint later copies them into
the database file. Left to SQLite, the commit that crosses `wal_autocheckpoint` pages copies
thousands of pages itself: one request in a few hundred waits tens of milliseconds.

Here, after every `every_commits` write transactions on a database, a daemon thread copies the
log into the database (PASSIVE: it never waits for or blocks readers and writers). The log can
only start over once it is copied to its end at a moment no writer is appending, and the writer
keeps appending meanwhile; so the next writer to commit after the thread's pass copies the few
pages added since, on its own connection (a millisecond), and the write after it starts the log
afresh. SQLite's own auto-checkpoint stays as a backstop. Durability is unchanged: SQLite syncs
the log before it copies pages into the database file.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, every_commits: int = 200):
        self.every_commits = every_commits
        self._commits: dict[str, int] = {}     # database path -> write commits since its last pass
        self._due: set[str] = set()            # paths for the thread to copy
        self._copied: set[str] = set()         # paths the thread has copied: a writer finishes them
        self._lock = threading.Lock()
        self._passing = threading.Lock()       # held by the thread while it takes and copies paths
        self._wake = threading.Event()
        self._pid: int | None = None           # the thread does not survive a fork: one per process
        self.passes = 0

    def after_write(self, dbapi_conn, path: str) -> None:
        """Call after a write transaction on `path` has committed, on its (idle) connection."""
        finish = False
        with self._lock:
            if path in self._copied:
                self._copied.discard(path)
                finish = True
            n = self._commits.get(path, 0) + 1
            if n >= self.every_commits and path not in self._due:
                n = 0
                self._due.add(path)
                self._wake.set()
            self._commits[path] = n
        if finish:
            _checkpoint(dbapi_conn, path)
        if self._pid != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
        threading.Thread(target=self._loop, name="sqlite-wal-checkpoint", daemon=True).start()

    def forget(self, path: str) -> None:
        """Leave `path` alone from now on: its file is about to be replaced by another (removed and
        copied afresh). Returns once no pass is running; none starts on it until it is written again.
        (A pass that opened the old file while it was being replaced would make a shared-memory index
        for the old file under the name the new one uses: SQLite then fails with a disk I/O error.)"""
        with self._passing, self._lock:
            self._commits.pop(path, None)
            self._due.discard(path)
            self._copied.discard(path)

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._passing:
                with self._lock:
                    paths, self._due = self._due, set()
                for path in paths:
                    if self._pass(path):
                        with self._lock:
                            self._copied.add(path)

    def _pass(self, path: str) -> bool:
        try:
            # mode=rw: a database deleted meanwhile is not created again, empty
            conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5, isolation_level=None)
        except sqlite3.Error:
            return False
        try:
            self.passes += 1
            return _checkpoint(conn, path)
        finally:
            conn.close()


def _checkpoint(conn, path: str) -> bool:
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return True
    except sqlite3.Error as exc:    # busy or gone: the next pass, or SQLite's backstop, does it
        log.debug("WAL checkpoint of %s skipped: %s", path, exc)
        return False


checkpointer = WalCheckpointer()
