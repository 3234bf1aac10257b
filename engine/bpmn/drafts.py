"""Diagrams being edited in the modeler: saved as drafts, one per process key, until deployed.

Below the drafts themselves, the modeler pages' read models and services, called with the engine:
each reads or writes in one transaction, and shows a confidential process only to the roles it
names and to those who edit processes (an unknown or hidden process is `NotFound`).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine import clock as clockmod
from engine.bpmn import xml as bx
from engine.bpmn.registry import ProcessInfo, process_infos, version_row, versions
from engine.db.schema import process_draft, role
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, NotFound, Problem
from engine.permissions import PROCESS_EDITORS

MAX_KEY = 255


def process_key(name: str, content: bytes) -> str:
    """The id of the diagram's first executable process: the key it deploys under.

    The XML is parsed safely (bpmn_xml); a diagram without a process id cannot be saved."""
    doc, problems = bx.load_document(name, content)
    if doc is None:
        raise Invalid(problems[0].message if problems else "the diagram cannot be read", problems=problems)
    ids = [el.get("id") for el in doc.root.iterchildren(bx.q("process"))
           if el.get("isExecutable", "true") == "true" and el.get("id")]
    if not ids:
        raise Invalid("the diagram has no executable process with an id", problems=[Problem(
            "The diagram has no executable process with an id; it cannot be saved.", file=name,
            code="no_executable_process")])
    if len(ids[0]) > MAX_KEY:
        raise Invalid("process id too long", problems=[Problem("The process id is longer than 255 characters.",
                                                               file=name, element_id=ids[0][:64], code="parse_error")])
    return ids[0]


def save(conn, key: str, file_name: str, xml: str, *, note: str | None, saved_by: str, now: datetime) -> None:
    conn.execute(process_draft.delete().where(process_draft.c.process_key == key))
    conn.execute(process_draft.insert().values(process_key=key, file_name=file_name, bpmn_xml=xml, note=note,
                                               saved_by=saved_by, saved_at=now))


def load(conn, key: str):
    return conn.execute(sa.select(process_draft).where(process_draft.c.process_key == key)).one_or_none()


def listing(conn) -> list[dict]:
    cols = [process_draft.c[n] for n in ("process_key", "file_name", "note", "saved_by", "saved_at")]
    return [dict(r._mapping) for r in conn.execute(sa.select(*cols).order_by(process_draft.c.process_key))]


def discard(conn, key: str) -> None:
    conn.execute(process_draft.delete().where(process_draft.c.process_key == key))


# --- the modeler pages: one transaction each -----------------------------------------------------

def visible(info: ProcessInfo | None, p) -> bool:
    """A confidential process is shown only to the roles it names, and to those who edit processes."""
    return info is None or info.confidential is None or p.has(*info.confidential, *PROCESS_EDITORS)


def _versions(conn, p, key: str) -> list[dict]:
    info = process_infos(conn, [key]).get(key)
    if info is None or not visible(info, p):
        raise NotFound(f"process {key} not found", field="process_key")
    return versions(conn, key)


def _roles(conn) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(sa.select(role).order_by(role.c.code))]


def index(eng, p) -> dict:
    """The processes `p` may see, each with its latest version and count, and, for editors, the drafts."""
    with read_transaction(eng.db) as conn:
        infos = process_infos(conn)
        processes: dict[str, dict] = {}
        for v in versions(conn):
            if visible(infos.get(v["process_key"]), p):
                found = processes.setdefault(v["process_key"], {"key": v["process_key"], "count": 0})
                found.update(latest=v, count=found["count"] + 1)
        return {"processes": list(processes.values()),
                "drafts": listing(conn) if p.has(*PROCESS_EDITORS) else []}


def editor(eng, p, key: str, number: int | None = None) -> dict:
    """The editor page of a process: its versions, the version shown (`row`: `number`, else the
    latest), the draft being edited (editors, when no version was asked for) and the roles lanes name."""
    with read_transaction(eng.db) as conn:
        found = _versions(conn, p, key)
        draft = load(conn, key) if p.has(*PROCESS_EDITORS) and number is None else None
        row = version_row(conn, key, number)
        if row is None:
            raise NotFound(f"process {key} has no version {number}", field="version")
        return {"versions": found, "row": row, "draft": draft, "roles": _roles(conn)}


def new_editor(eng, draft_key: str | None = None) -> dict:
    """The editor page of a new process, or of a draft not deployed yet (`NotFound` when none)."""
    with read_transaction(eng.db) as conn:
        draft = load(conn, draft_key) if draft_key else None
        if draft_key and draft is None:
            raise NotFound(f"no draft of {draft_key}", field="draft")
        return {"draft": draft, "roles": _roles(conn)}


def version_file(eng, p, key: str, number: int):
    """Version `number` of a process `p` may see, with its XML."""
    with read_transaction(eng.db) as conn:
        _versions(conn, p, key)
        row = version_row(conn, key, number)
    if row is None:
        raise NotFound(f"process {key} has no version {number}", field="version")
    return row


def process_versions(eng, p, key: str) -> list[dict]:
    """The versions of a process `p` may see, oldest first."""
    with read_transaction(eng.db) as conn:
        return _versions(conn, p, key)


def save_draft(eng, file_name: str, content: bytes, *, note: str | None, saved_by: str) -> dict:
    """Keep a diagram as the draft of its process: `key`, and `new` when no version is deployed yet."""
    key = process_key(file_name, content)
    with write_transaction(eng.db) as conn:
        new = key not in process_infos(conn, [key])
        save(conn, key, file_name, content.decode("utf-8"), note=note, saved_by=saved_by, now=eng.clock.now())
    return {"key": key, "new": new}


def deploy(eng, files, *, deployed_by: str, note: str | None = None) -> list:
    """Deploy the diagrams and drop the drafts of the processes deployed, in one transaction."""
    def drop_drafts(conn, deployed) -> None:
        for d in deployed:
            discard(conn, d.process_key)
    with clockmod.using(eng.clock, eng.ids):
        return eng.registry.deploy(files, deployed_by, note, within=drop_drafts)
