"""Settings read from the environment, with defaults that make `make run` work out of the box."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    forms_dir: Path
    processes_dir: Path
    script_timeout_seconds: float = 2.0
    cache_size: int = 2000
    verify_persistence: bool = False
    instance_dir: Path = field(default=PROJECT_ROOT / "instance")
    reporter_key: str | None = None      # Fernet key for reporters' identities (QINGLIAN_REPORTER_KEY)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        env = os.environ if env is None else env
        instance_dir = Path(env.get("QINGLIAN_INSTANCE_DIR", PROJECT_ROOT / "instance"))
        default_db = f"sqlite:///{instance_dir / 'qinglian.db'}"
        return cls(
            database_url=env.get("DATABASE_URL", default_db),
            forms_dir=Path(env.get("QINGLIAN_FORMS_DIR", PROJECT_ROOT / "forms")),
            processes_dir=Path(env.get("QINGLIAN_PROCESSES_DIR", PROJECT_ROOT / "processes")),
            script_timeout_seconds=float(env.get("QINGLIAN_SCRIPT_TIMEOUT", "2.0")),
            cache_size=int(env.get("QINGLIAN_CACHE_SIZE", "2000")),
            verify_persistence=env.get("QINGLIAN_VERIFY_PERSISTENCE", "") == "1",
            instance_dir=instance_dir,
            reporter_key=env.get("QINGLIAN_REPORTER_KEY") or None,
        )
