"""Demo data for `make run`: a small hospital, the bundled processes and a few instances to look at.

The hospital (19 departments, 52 staff) lives in `hospital_data/*.csv` and goes through the same
importer as a real hospital's files. Loading again changes nothing (`init-db --demo` twice is fine).
"""
from __future__ import annotations

from pathlib import Path

from engine.org import accounts, hospital, importing as org_import, spreadsheet
from engine.demo import campaign as campaign_demo, clues as clues_demo, records as records_demo
from engine import bootstrap as services
from engine.config import Settings
from engine.db.transactions import write_transaction
from engine.org.people import principal, role_names
from engine.runtime.services import Engine
from engine.db.schema import staff

DEMO_PASSWORD = "qinglian2026"
DEMO_HOSPITAL = "清廉示范医院"
HOSPITAL = Path(__file__).parent / "hospital_data"
# One person per role, to try the application from each side.
DEMO_LOGINS = ("admin", "jijian", "neike_head", "neike_nurse1", "shuji", "yiwu_head", "liucheng", "shenji",
               "anquan", "shenjiguan")


def load(engine: Engine, settings: Settings) -> dict:
    with write_transaction(engine.db) as conn:
        imported = load_hospital(conn, engine.clock.now())
    deployed = services.deploy_directory(engine, settings.processes_dir, deployed_by="admin")
    started = []
    # No stand-alone monthly report for a department the campaign covers: its campaign report is the one
    # that counts, and a second would be refused (one monthly report per department and period).
    if (campaign_id := campaign_demo.load(engine)) is not None:
        started.append(campaign_id)
    started += [None] * clues_demo.load(engine, settings)
    records_demo.load(engine)
    with engine.db.connect() as conn:
        logins = describe_logins(conn)
    kept = (imported.departments_updated + imported.departments_unchanged,
            imported.staff_updated + imported.staff_unchanged)
    return {
        "departments": f"{imported.departments_new} new, {kept[0]} kept",
        "staff": f"{imported.staff_new} new, {kept[1]} kept",
        "deployed": ", ".join(f"{v.process_key} v{v.version}" for v in deployed) or "nothing",
        "instances started": len(started),
        "demo logins": "\n" + "\n".join(f"  {line}" for line in logins),
        "demo password": DEMO_PASSWORD,
    }


def load_hospital(conn, now) -> org_import.Preview:
    """Import the demo hospital and give every account without a password the demo password."""
    plan = spreadsheet.merge(*(spreadsheet.parse(p.name, p.read_bytes())
                              for p in (HOSPITAL / "departments.csv", HOSPITAL / "staff.csv")))
    result = org_import.apply(conn, plan, now)
    if not hospital.hospital_name(conn):
        hospital.set_name(conn, DEMO_HOSPITAL, now, by=None)
    # One hash for all demo accounts: fifty argon2 hashes would add five seconds to `make run`.
    conn.execute(staff.update().where(staff.c.username.in_([r.values["username"] for r in plan.staff]),
                                      staff.c.password_hash.is_(None))
                 .values(password_hash=accounts.hash_password(DEMO_PASSWORD), password_changed_at=now))
    return result


def describe_logins(conn) -> list[str]:
    names = role_names(conn)
    lines = []
    for username in DEMO_LOGINS:
        p = principal(conn, username)
        if p is not None:
            roles = "、".join(names[r] for r in sorted(p.roles - {"staff"})) or names["staff"]
            lines.append(f"{username:<14}{p.name}  {roles}")
    return lines
