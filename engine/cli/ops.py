"""`qinglian backup PATH`, `qinglian restore PATH`, and a standalone scheduler's observability."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from engine.clock import SystemClock


def _bar(label: str):
    return click.progressbar(length=1, label=label, file=sys.stderr, show_percent=True)


def _progress(bar):
    def update(done: int, total: int) -> None:
        bar.length = max(total, 1)
        bar.update(done - bar.pos)
    return update


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup_cmd(obj, path: Path):
    """Write a consistent backup of the database to PATH while the application keeps serving.

    SQLite: a copy of the database file (online backup API). PostgreSQL: a pg_dump custom-format archive.
    """
    from engine.db import backup
    with _bar("backing up") as bar:
        backup.backup(obj.settings.database_url, path, _progress(bar))
    size = path.stat().st_size
    obj.out({"file": str(path), "bytes": size}, f"backup written to {path} ({size / 1e6:.1f} MB)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@click.option("--even-if-running", is_flag=True,
              help="With --force: replace it even though a scheduler beat recently (the installation runs).")
@click.pass_obj
def restore_cmd(obj, path: Path, force: bool, even_if_running: bool):
    """Restore the backup at PATH into the (empty) database, migrate it if older, and verify the audit chains.

    Stop the application and schedulers first; start them again once this reports OK."""
    from engine.audit import verify as audit
    from engine.db import backup
    from engine.db.transactions import create_db_engine
    with _bar("restoring") as bar:
        running_after = None if even_if_running else \
            SystemClock().now() - timedelta(seconds=obj.settings.heartbeat_max_age_seconds)
        result = backup.restore(obj.settings.database_url, path, force=force, progress=_progress(bar),
                                running_after=running_after)
    db = create_db_engine(obj.settings.database_url)
    try:
        with _bar("verifying") as bar:
            report = audit.verify_report(db, None, progress=_progress(bar))
    finally:
        db.dispose()
    summary = {"file": str(path), "revision": result.revision, "migrated": result.migrated,
               "audit": report.to_dict()}
    obj.out(summary, lambda s: (f"restored {s['file']} (schema {s['revision']}"
                                + (", migrated to this version" if s["migrated"] else "") + "); audit verify: "
                                + (f"OK, {report.events} events in {report.chains} chains" if report.ok
                                   else f"{len(report.breaks)} break(s) — run `qinglian audit verify` for details")))
    if not report.ok:
        sys.exit(1)


def scheduler_observability(settings, metrics_port: int | None) -> None:
    """JSON log lines for a standalone scheduler, and its metrics on a port of its own if asked."""
    from engine import logging_setup
    logging_setup.configure(settings.log_level, json_lines=settings.log_json)
    if metrics_port:
        from prometheus_client import start_http_server
        start_http_server(metrics_port, addr=settings.metrics_addr)
