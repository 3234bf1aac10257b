"""Back up and restore the database, consistently while the application keeps serving.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies pages in steps while writers go
on; the copy is one consistent moment. PostgreSQL: `pg_dump --format=custom` (one snapshot) and
`pg_restore`. A restore never overwrites a database that holds data unless forced, refuses a backup
whose schema this version does not know, migrates an older one, and ends with `audit verify`.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from engine.db import migrate
from engine.errors import EngineError, Invalid

Progress = Callable[[int, int], None]          # (done, total)
SQLITE_PAGES_PER_STEP = 1024


class BackupFailed(EngineError):
    code = "backup_failed"


@dataclass
class RestoreResult:
    revision: str
    migrated: bool


def backup(url: str, target: Path, progress: Progress | None = None) -> Path:
    """Write a consistent copy of the database at `url` to `target` (written whole, then renamed)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(Path(parsed.database), partial, progress)
    else:
        _pg_dump(parsed, partial, progress)
    os.replace(partial, target)
    return target


def restore(url: str, source: Path, *, force: bool = False, progress: Progress | None = None,
            running_after: datetime | None = None) -> RestoreResult:
    """Restore `source` into the database at `url`; migrate it if it is older than this version.
    Forced over data, it still refuses while a scheduler beat after `running_after` (the installation
    is running: its servers would write into the database being replaced); None skips that check."""
    source = Path(source)
    if not source.is_file():
        raise Invalid(f"no backup file at {source}")
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    revision = _sqlite_revision(source) if sqlite else _dump_revision(source)
    _check_revision(revision, source)
    db = sa.create_engine(url)
    try:
        if not _is_empty(db) and not force:
            raise Invalid(f"the database {parsed.render_as_string(hide_password=True)} already holds data: "
                          "restore into an empty database, or pass --force to replace it")
        if not _is_empty(db) and running_after is not None:
            beat = _last_heartbeat(db)
            if beat is not None and beat[1] > running_after:
                raise Invalid(f"the installation is running: scheduler {beat[0]} beat at {beat[1].isoformat()}; "
                              "stop the application and its schedulers first, or pass --even-if-running")
    finally:
        db.dispose()
    if sqlite:
        _sqlite_copy(source, Path(parsed.database), progress)
    else:
        _pg_restore(parsed, source, progress)
    from engine.db.transactions import create_db_engine
    db = create_db_engine(url)
    try:
        migrated = migrate.current_revision(db) != migrate.head_revision()
        if migrated:
            migrate.upgrade(db)
    finally:
        db.dispose()
    return RestoreResult(revision, migrated)


def _check_revision(revision: str | None, source: Path) -> None:
    if revision is None:
        raise Invalid(f"{source.name} is not a Qinglian backup (no schema revision in it)")
    if revision not in migrate.known_revisions():
        raise Invalid(f"{source.name} holds schema {revision}, unknown to this version of Qinglian "
                      f"({migrate.head_revision()}): restore it with the release that wrote it")


def _last_heartbeat(db: sa.Engine) -> tuple[str, datetime] | None:
    """The latest scheduler heartbeat (owner, moment), or None (none, or a schema without the table)."""
    from engine.db.schema import scheduler_heartbeat
    if "scheduler_heartbeat" not in sa.inspect(db).get_table_names():
        return None
    t = scheduler_heartbeat.c
    with db.connect() as conn:
        row = conn.execute(sa.select(t.owner, t.beat_at).order_by(t.beat_at.desc()).limit(1)).first()
    return (row.owner, row.beat_at) if row else None


def _is_empty(db: sa.Engine) -> bool:
    tables = sa.inspect(db).get_table_names()
    if not tables:
        return True
    with db.connect() as conn:
        return not any(conn.execute(sa.text(f'SELECT 1 FROM "{t}" LIMIT 1')).first()
                       for t in tables if t != "alembic_version")


# -- SQLite ------------------------------------------------------------------------------------
def _sqlite_copy(source: Path, target: Path, progress: Progress | None) -> None:
    if not source.is_file():
        raise BackupFailed(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        def step(_status, remaining, total):
            if progress is not None:
                progress(total - remaining, total)
        src.backup(dst, pages=SQLITE_PAGES_PER_STEP, progress=step)
    finally:
        dst.close()
        src.close()


def _sqlite_revision(path: Path) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


# -- PostgreSQL --------------------------------------------------------------------------------
def _libpq(parsed) -> tuple[str, dict]:
    """A libpq URL without the password (it goes in PGPASSWORD, not on a command line others can read)."""
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupFailed(f"{name} is not installed: install the PostgreSQL client (apt-get install "
                           "postgresql-client) of the server's major version")
    return path


def _run_counting(cmd: list[str], env: dict, pattern: re.Pattern, total: int, progress: Progress | None) -> None:
    """Run a pg_dump/pg_restore --verbose, turning its per-table lines into progress."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done, errors = 0, []
    for line in proc.stderr:
        if pattern.search(line):
            done += 1
            if progress is not None:
                progress(min(done, total), total)
        elif "error" in line.lower():
            errors.append(line.strip())
    if proc.wait() != 0:
        raise BackupFailed(f"{Path(cmd[0]).name} failed: " + ("; ".join(errors[-3:]) or f"exit {proc.returncode}"))
    if progress is not None:
        progress(total, total)


def _table_count(libpq_url: str, env: dict) -> int:
    out = subprocess.run([_tool("psql"), libpq_url, "-Atc",
                          "select count(*) from pg_tables where schemaname = 'public'"],
                         env=env, capture_output=True, text=True)
    return int(out.stdout.strip() or 0) if out.returncode == 0 else 0


def _pg_dump(parsed, target: Path, progress: Progress | None) -> None:
    url, env = _libpq(parsed)
    total = max(_table_count(url, env), 1)
    _run_counting([_tool("pg_dump"), "--format=custom", "--no-owner", "--verbose", f"--file={target}", url],
                  env, re.compile(r"dumping contents of table"), total, progress)


def _dump_revision(path: Path) -> str | None:
    out = subprocess.run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    lines = out.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            value = lines[i + 1].strip()
            return value if value and value != "\\." else None
    return None


def _pg_restore(parsed, source: Path, progress: Progress | None) -> None:
    url, env = _libpq(parsed)
    with sa.create_engine(parsed).begin() as conn:    # forced or empty: start from an empty schema
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    listing = subprocess.run([_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True)
    total = max(sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line), 1)
    _run_counting([_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction", "--verbose",
                   f"--dbname={url}", str(source)],
                  env, re.compile(r"processing data for table"), total, progress)


