"""Demo data for `make run`: the bundled processes and a few instances to look at."""
from __future__ import annotations

from . import services
from .config import Settings
from .runtime import Engine


def load(engine: Engine, settings: Settings) -> dict:
    deployed = services.deploy_directory(engine, settings.processes_dir, deployed_by="admin")
    started = []
    if any(v.process_key == "monthly_report" and v.created for v in deployed):
        view = engine.start("monthly_report", started_by="jijian", business_key="2026-11 内科",
                            data={"department": "neike", "department_name": "内科"})
        started.append(view.id)
    return {
        "deployed": ", ".join(f"{v.process_key} v{v.version}" for v in deployed) or "nothing",
        "instances started": len(started),
    }
