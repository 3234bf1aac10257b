"""Schema migrations (Alembic), and the check that the database schema is one this code knows."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.config import PROJECT_ROOT
from engine.errors import EngineError


class SchemaMismatch(EngineError):
    code = "schema_mismatch"


def _config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db_engine) -> None:
    cfg = _config(db_engine.url.render_as_string(hide_password=False))
    with db_engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def head_revision() -> str:
    return ScriptDirectory.from_config(_config("sqlite://")).get_current_head()


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(_config("sqlite://")).walk_revisions()}


def current_revision(db_engine) -> str | None:
    with db_engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_current(db_engine) -> None:
    """Refuse to run on a schema this code does not know (older: migrate; newer: upgrade the code)."""
    current, head = current_revision(db_engine), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaMismatch("the database has no Qinglian schema yet: run `qinglian init-db`")
    known = {s.revision for s in ScriptDirectory.from_config(_config("sqlite://")).walk_revisions()}
    if current in known:
        raise SchemaMismatch(f"the database schema ({current}) is older than this version ({head}): "
                             "run `qinglian init-db` to migrate it")
    raise SchemaMismatch(f"the database schema ({current}) is unknown to this version of Qinglian ({head}): "
                         "it was probably written by a newer release")
