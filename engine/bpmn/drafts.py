"""Diagrams being edited in the modeler: saved as drafts, one per process key, until deployed."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.bpmn import xml as bx
from engine.errors import Invalid, Problem
from engine.db.schema import process_draft

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
