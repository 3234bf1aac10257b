"""The staff sync from the directory (scheduled: QINGLIAN_LDAP_SYNC_MINUTES): people created, changed
and — when gone from the directory — deactivated, never deleted, and active again when they return to
it (unless an administrator deactivated them); each change an event of the administration log by
`ldap-sync`, so the history of every account is kept."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from engine.db.schema import staff
from engine.db.transactions import write_transaction
from engine.org import people
from engine.signon.doors import DIRECTORY_SYNC, apply_person
from engine.signon.ldap import Directory

ACTOR = DIRECTORY_SYNC


@dataclass(frozen=True)
class SyncReport:
    created: int
    changed: int
    disabled: int
    reactivated: int = 0


def sync_staff(eng, directory: Directory) -> SyncReport:
    """Bring the directory's people into the staff (one transaction: all or nothing)."""
    everyone = directory.everyone()                 # read before the write: a network call
    now = eng.clock.now()
    counts = {"created": 0, "changed": 0, "disabled": 0, "reactivated": 0}
    with write_transaction(eng.db) as conn:
        for person in everyone:
            outcome = apply_person(conn, directory, person, now, actor=ACTOR)
            if outcome:
                counts[outcome] += 1
        present = {p.username for p in everyone}
        gone = conn.execute(sa.select(staff.c.username).where(staff.c.sign_in_method == "ldap", staff.c.active,
                                                              staff.c.username.not_in(present or {"-"}))).scalars()
        for username in list(gone):
            values = people.get_staff(conn, username)
            people.save_staff(conn, {**values, "active": False}, now, actor=ACTOR)
            counts["disabled"] += 1
    return SyncReport(**counts)
