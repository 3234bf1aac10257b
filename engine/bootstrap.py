"""The composition root: the one place that wires the domains into the engine, and the set-up use
cases shared by the CLI and the web app (open the engine, create or migrate the database, deploy
the bundled processes).

The engine core knows no domain: the campaign's and the clues' service operators and completion
guards join an engine here, through the `Connectors` registry it receives.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from engine.bpmn.validation import SourceFile
from engine.campaign import operators as campaign_operators
from engine.clues import operators as clue_operators
from engine.config import Settings
from engine.records import operators as record_operators
from engine.db import migrate
from engine.db.transactions import create_db_engine, write_transaction
from engine.deadlines import drills
from engine.documents import kinds as document_kinds
from engine.org import roles
from engine.runtime import connectors
from engine.runtime.services import Engine

DOMAINS = (campaign_operators, clue_operators, record_operators)   # each has register(registry)


def scheduled_jobs(settings: Settings, engine: Engine) -> tuple:
    """The scheduler's periodic jobs besides timers, as (id, minutes, function): the staff sync from the
    hospital's directory every QINGLIAN_LDAP_SYNC_MINUTES (when a directory is configured), and the
    audit's verification and anchored digest appended to `settings.digest_sink` every
    `settings.digest_hours`, time-stamped by `settings.tsa_url` when set, the daily log retention
    job (`settings.log_retention_days`, never below 180; `docs/security.md`), and process analytics
    catching up with the event log every `settings.analytics_minutes` (`docs/audit.md`)."""
    from engine.audit import chain_check, retention
    from engine.audit.analytics import service as analytics
    from engine.signon.ldap import Directory
    from engine.signon.sync import sync_staff
    jobs = []
    directory = Directory.from_settings(settings)
    if directory is not None and directory.sync_minutes:
        jobs.append(("qinglian-staff-sync", directory.sync_minutes, lambda: sync_staff(engine, directory)))
    if settings.digest_hours > 0:
        sink = settings.digest_sink or settings.instance_dir / "digests.jsonl"
        jobs.append(("qinglian-digest", settings.digest_hours * 60,
                     lambda: chain_check.to_sink(engine, sink, tsa_url=settings.tsa_url)))
    jobs.append(("qinglian-log-retention", 24 * 60,
                 lambda: retention.prune(engine, settings.log_retention_days)))
    if settings.analytics_minutes > 0:
        jobs.append(("qinglian-analytics", settings.analytics_minutes, lambda: analytics.refresh(engine)))
    return tuple(jobs)


def domain_connectors(domains=DOMAINS) -> connectors.Connectors:
    """The engine's own operators and guards plus those of `domains` (default: every domain)."""
    registry = connectors.builtin()
    for domain in domains:
        domain.register(registry)
    registry.set_documents(lambda: frozenset(document_kinds.load_kinds()))   # a step's `document` property
    return registry


def open_engine(settings: Settings, *, check_schema: bool = True, clock=None, ids=None) -> Engine:
    """The engine of the app and the CLI, with every domain registered."""
    engine = Engine.from_settings(settings, clock=clock, ids=ids, connectors=domain_connectors())
    if check_schema:
        migrate.check_current(engine.db)
    if clock is None and drills.is_sandbox(engine.db):
        engine.set_clock(drills.VirtualClock(engine.db))
    return engine


def init_db(settings: Settings, *, sandbox: bool = False, at: datetime | None = None) -> Engine:
    """Create or migrate the schema and the built-in roles (idempotent).

    A sandbox (drill) database starts its virtual clock `at` the given moment (now by default);
    run again with a later `at`, its clock moves there — never back.
    """
    db = create_db_engine(settings.database_url)
    migrate.upgrade(db)
    with write_transaction(db) as conn:
        roles.ensure_builtin_roles(conn)
    try:
        if sandbox and not drills.is_sandbox(db):
            drills.make_sandbox(db, at or datetime.now(timezone.utc))
        elif sandbox and at is not None:
            drills.set_clock(db, at)
    finally:
        db.dispose()
    return open_engine(settings)


def read_sources(paths: list[Path]) -> list[SourceFile]:
    return [SourceFile(Path(p).name, Path(p).read_bytes()) for p in paths]


def deploy_directory(engine: Engine, directory: Path, deployed_by: str = "system"):
    """Deploy every DMN decision of a directory (first: business rule tasks name them), then every
    BPMN file as one bundle (call activities may cross files). Unchanged files make no version."""
    from engine.bpmn import decisions
    for path in sorted(Path(directory).glob("*.dmn")):
        decisions.deploy_file(engine, path.name, path.read_bytes(), deployed_by=deployed_by, note="bundled decisions")
    files = sorted(Path(directory).glob("*.bpmn"))
    if not files:
        return []
    return engine.deploy(read_sources(files), deployed_by=deployed_by, note="bundled processes")

