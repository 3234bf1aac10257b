"""What a document may say: the fields the process provides, and one instance's values as text.

A step declares the documents it produces with the BPMN extension property `document`
(`<spiffworkflow:property name="document" value="受理告知书" />`; several separated by 、). The
fields a kind's template may use are the standard ones (issuer, number, date…) plus every field of
the forms of the processes that declare the kind (their steps' forms, their start form, and the
kind's `data_forms`). The reporter's name and contact exist only for documents addressed to them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from engine.db.schema import process_instance, process_version
from engine.deadlines.workdays import BEIJING
from engine.documents.kinds import Kind, declared
from engine.documents.numbering import hospital
from engine.documents.rendering import chinese_numeral_date, display
from engine.org import people as org
from engine.runtime.views import HumanTask

STANDARD = {"issuer": "发文机关", "doc_number": "发文字号", "date_cn": "成文日期", "business_key": "编号"}
REPORTER = {"reporter_name": "举报人姓名", "reporter_contact": "举报人联系方式"}
PROPERTY = "document"


@dataclass(frozen=True)
class FieldInfo:
    name: str
    title: str
    options: dict           # option value -> title, for choice fields


def _specs(loaded):
    return (loaded.spec, *loaded.subprocess_specs.values())


def _declared_by(task_spec) -> list[str]:
    return declared((getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(PROPERTY))


def step_documents(spec_bundle, element_id: str) -> list[str]:
    """The kinds the step `element_id` of a loaded process version produces."""
    for spec in _specs(spec_bundle):
        ts = spec.task_specs.get(element_id)
        if ts is not None:
            return _declared_by(ts)
    return []


def task_documents(engine, conn, task: HumanTask) -> list[str]:
    version_id = conn.execute(sa.select(process_instance.c.process_version_id)
                              .where(process_instance.c.id == task.instance_id)).scalar_one()
    return step_documents(engine.registry.load(conn, version_id), task.element_id)


# (kind, the latest versions' SHA-256) -> the forms of the processes declaring it: a deployed version
# never changes, and its content (the hash) decides both its steps and its forms.
_DECLARING: dict[tuple, frozenset[str]] = {}


def _declaring_forms(engine, conn, kind: Kind) -> frozenset[str]:
    latest = (sa.select(process_version.c.process_key, sa.func.max(process_version.c.id).label("id"))
              .group_by(process_version.c.process_key)).subquery()
    rows = conn.execute(sa.select(process_version.c.id, process_version.c.sha256, process_version.c.meta_json)
                        .join(latest, latest.c.id == process_version.c.id).order_by(process_version.c.id)).all()
    key = (kind.key, tuple(sorted(r.sha256 for r in rows)))
    hit = _DECLARING.get(key)
    if hit is None:
        hit = _DECLARING[key] = frozenset(_scan(engine, conn, kind, rows))
    return hit


def _scan(engine, conn, kind: Kind, rows) -> set[str]:
    forms: set[str] = set()
    for row in rows:
        loaded = engine.registry.load(conn, row.id)
        if any(kind.key in _declared_by(ts) for spec in _specs(loaded) for ts in spec.task_specs.values()):
            meta = json.loads(row.meta_json)
            forms.update(meta.get("forms", ()))
            start = meta.get("process", {}).get("startForm")
            if start:
                forms.add(start)
    return forms


def provided(engine, conn, kind: Kind) -> dict[str, FieldInfo]:
    """Every field a template of `kind` may name."""
    fields = {n: FieldInfo(n, t, {}) for n, t in STANDARD.items()}
    if kind.to_reporter:
        fields.update({n: FieldInfo(n, t, {}) for n, t in REPORTER.items()})
    for key in sorted(_declaring_forms(engine, conn, kind) | set(kind.data_forms)):
        if not engine.forms.exists(key):
            continue
        props = engine.forms.get(key).get("schema", {}).get("properties", {})
        for name, prop in props.items():
            options = {o.get("const"): o.get("title", o.get("const")) for o in prop.get("oneOf", ())
                       if isinstance(o, dict) and "const" in o}
            fields.setdefault(name, FieldInfo(name, prop.get("title", name), options))
    return fields


def values(conn, fields: dict[str, FieldInfo], data: dict) -> dict[str, str]:
    """The instance's data as the document's text (option titles, dates, department names)."""
    departments = org.department_names(conn)
    out = {}
    for name, info in fields.items():
        if name in STANDARD or name in REPORTER:
            continue
        value = data.get(name)
        if isinstance(value, str) and "department" in name and value in departments:
            value = departments[value]
        out[name] = display(value, info.options)
    return out


def document_values(engine, conn, kind: Kind, data: dict, *, business_key: str | None, now) -> dict[str, str]:
    """Every value a template of `kind` may name, from an instance's data, at `now` (no number yet,
    the reporter masked: the caller adds them)."""
    out = values(conn, provided(engine, conn, kind), data)
    out.update(issuer=hospital(conn), business_key=business_key or "", doc_number="",
               date_cn=chinese_numeral_date(now.astimezone(BEIJING).date()))
    return out
