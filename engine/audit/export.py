"""The audit package: one instance, or the instances started in a date range, as a ZIP that can be
read and checked without our software.

Contents: README.txt (what each file is; the hash formula), instances.json, events/<id>.json (every
column of every event, the raw `data_json` the hash covers included), bpmn/<key>-v<n>.bpmn with
versions.json (sha256 of each), forms/<key>.json, attachments.json (hashes and sizes, not the
files), verification.json (chain and version checks; the replay for a single instance),
verify_chain.py (a standard-library script that recomputes every hash) and SHA256SUMS over all of
them. The ZIP is built deterministically, so its own SHA-256 identifies it. Reporter identities are
never part of it: they are not in events.

A date range exported from the audit pages holds what the person may see; left_out.json says how many
instances of the range were left out, and why (`scope`), without naming them.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime

import sqlalchemy as sa

from engine.audit import verify as audit, visibility
from engine.documents import sealing
from engine.runtime import replay
from engine.db.transactions import read_transaction
from engine.errors import Invalid, NotFound, Problem
from engine.db.schema import attachment, event, process_instance, process_version

MAX_INSTANCES = 5000
FIXED_TIME = (2000, 1, 1, 0, 0, 0)

README = """清廉 审计包 / Qinglian audit package
=====================================
instances.json      流程实例 / the instances in this package
events/<id>.json    每个实例的全部事件（哈希链）/ every event of each instance (its hash chain)
bpmn/, versions.json 实例所用流程版本及其 SHA-256 / the BPMN versions used, with their SHA-256
forms/              表单定义 / form definitions named by those versions
attachments.json    附件的文件名、大小与 SHA-256（不含文件本身）/ attachment hashes, not the files
documents.json      生成的公文：文号、模板版本、数据与文件的 SHA-256 / generated official documents
documents/          公文文件（.docx/.pdf）；致举报人的公文只列哈希 / their files; those naming the reporter: hashes only
verification.json   导出时的校验结果 / the verification report at export time
verify_chain.py     独立校验脚本（仅用 Python 标准库）/ stand-alone checker (Python standard library only)
left_out.json       按日期导出时，因无权查看而未导出的实例数及原因 / instances of the range left out, and why
SHA256SUMS          以上每个文件的 SHA-256 / SHA-256 of every file above (sha256sum -c SHA256SUMS)

Hash of an event / 事件哈希：
  H( prev_hash US chain US seq US type US at US actor US task_id US element_id US data_json
     [US "state:" state_hash] )
  H = SHA-256, or SM3 where the event's hash_alg says "sm3" (国密; QINGLIAN_HASH=sm3);
  US = the unit separator character U+001F; `at` in ISO 8601 with microseconds; empty string for
  a missing actor/task_id/element_id; the state part only on an event with a state_hash (it seals
  the instance's stored state); prev_hash of the first event = 64 zeros. Each event's
  prev_hash must equal the hash of the event before it.
"""

VERIFY_SCRIPT = '''"""Recompute every event hash of this audit package: python3 verify_chain.py"""
import hashlib, json, pathlib, sys
bad = 0
for path in sorted(pathlib.Path(__file__).parent.glob("events/*.json")):
    prev = "0" * 64
    for i, e in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
        parts = [e["prev_hash"], e["chain"], str(e["seq"]), e["type"], e["at"], e["actor"] or "",
                 e["task_id"] or "", e["element_id"] or "", e["data_json"]]
        if e.get("state_hash"):
            parts.append("state:" + e["state_hash"])
        h = hashlib.new(e.get("hash_alg") or "sha256")   # "sm3" needs an OpenSSL with SM3
        h.update("\\x1f".join(parts).encode("utf-8"))
        ok = e["seq"] == i and e["prev_hash"] == prev and h.hexdigest() == e["hash"]
        if not ok:
            bad += 1
            print(f"{path.name}: event {e['seq']} does not verify")
        prev = e["hash"]
print("OK" if not bad else f"{bad} problem(s)")
sys.exit(1 if bad else 0)
'''


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode("utf-8")


def select_instances(conn, instance_id: str | None, date_from: datetime | None, date_to: datetime | None) -> list:
    pi = process_instance.c
    if instance_id:
        q = sa.select(process_instance).where(pi.id == instance_id)
    elif date_from is not None and date_to is not None:
        if date_to <= date_from:
            raise Invalid("日期范围有误", [Problem("结束日期须晚于开始日期", field="to")])
        q = sa.select(process_instance).where(pi.started_at >= date_from, pi.started_at < date_to)
    else:
        raise Invalid("请指定实例或日期范围", [Problem("请指定实例或日期范围", field="instance")])
    rows = conn.execute(q.order_by(pi.started_at, pi.id).limit(MAX_INSTANCES + 1)).all()
    if instance_id and not rows:
        raise NotFound(f"instance {instance_id} not found", field="instance_id")
    if len(rows) > MAX_INSTANCES:
        raise Invalid("范围内的实例过多", [Problem(f"一次最多导出 {MAX_INSTANCES} 个实例，请缩小日期范围", field="from")])
    return rows


# Why an instance of a range was left out of a person's package.
CONFIDENTIAL = "confidential"          # a confidential process naming none of their roles
NOT_INVOLVED = "not_involved"          # neither started it nor held a task of it, nor a reader of all


def _visible_part(conn, principal, rows) -> tuple[list, dict[str, int]]:
    """The rows `principal` may see, and how many of the others were left out for each reason."""
    seen = visibility.visible_ids(conn, principal, [r.id for r in rows])
    metas = dict(conn.execute(sa.select(process_version.c.id, process_version.c.meta_json)
                              .where(process_version.c.id.in_({r.process_version_id for r in rows}))).all())
    left: dict[str, int] = {}
    for r in rows:
        if r.id not in seen:
            why = CONFIDENTIAL if visibility.confidential_roles(metas.get(r.process_version_id)) is not None \
                else NOT_INVOLVED
            left[why] = left.get(why, 0) + 1
    return [r for r in rows if r.id in seen], left


def scope(engine, principal, date_from: datetime, date_to: datetime) -> dict:
    """What a package of [date_from, date_to) would hold for `principal`: {instances, left_out:
    {reason: count}}, without building it."""
    with read_transaction(engine.db) as conn:
        rows = select_instances(conn, None, date_from, date_to)
        kept, left = _visible_part(conn, principal, rows)
    return {"instances": len(kept), "left_out": left}


def build_package(engine, *, instance_id: str | None = None, date_from: datetime | None = None,
                  date_to: datetime | None = None, principal=None) -> tuple[bytes, str, dict]:
    """(zip bytes, its sha256, a summary). For a `principal` (the audit pages), a package holds only
    what they may see: an instance they may not see is `NotFound`; of a range, the instances they may
    not see are left out, counted by reason in left_out.json and the summary."""
    files: dict[str, bytes] = {"README.txt": README.encode("utf-8"), "verify_chain.py": VERIFY_SCRIPT.encode("utf-8")}
    left: dict[str, int] = {}
    with read_transaction(engine.db) as conn:
        rows = select_instances(conn, instance_id, date_from, date_to)
        if principal is not None:
            rows, left = _visible_part(conn, principal, rows)
            if instance_id and not rows:
                raise NotFound(f"instance {instance_id} not found", field="instance_id")
        ids = [r.id for r in rows]
        if not instance_id:
            files["left_out.json"] = _json({"count": sum(left.values()), "by_reason": left, "reasons": {
                CONFIDENTIAL: "保密流程，你不持有其指定的角色 / a confidential process naming none of your roles",
                NOT_INVOLVED: "你既非发起人也未办理其任务 / you neither started it nor held a task of it"}})
        files["instances.json"] = _json([{k: getattr(r, k) for k in (
            "id", "process_key", "process_version_id", "business_key", "status", "started_by", "started_at",
            "ended_at", "parent_id", "event_seq", "event_head")} for r in rows])
        for iid in ids:
            evs = conn.execute(sa.select(event).where(event.c.chain == iid).order_by(event.c.seq)).all()
            files[f"events/{iid}.json"] = _json([{
                "chain": e.chain, "seq": e.seq, "type": e.type, "at": e.at.isoformat(timespec="microseconds"),
                "actor": e.actor, "task_id": e.task_id, "element_id": e.element_id, "data_json": e.data_json,
                "data": json.loads(e.data_json), "prev_hash": e.prev_hash, "hash": e.hash,
                "hash_alg": e.hash_alg, "state_hash": e.state_hash} for e in evs])
        version_ids = sorted({r.process_version_id for r in rows})
        versions = conn.execute(sa.select(process_version).where(process_version.c.id.in_(version_ids))).all()
        forms = set()
        listing = []
        for v in versions:
            name = f"bpmn/{v.process_key}-v{v.version}.bpmn"
            files[name] = v.bpmn_xml.encode("utf-8")
            listing.append({"file": name, "process_key": v.process_key, "version": v.version, "sha256": v.sha256,
                            "deployed_by": v.deployed_by, "deployed_at": v.deployed_at})
            forms.update(json.loads(v.meta_json).get("forms", []))
        files["versions.json"] = _json(listing)
        for key in sorted(forms):
            if engine.forms.exists(key):
                files[f"forms/{key}.json"] = _json(engine.forms.get(key))
        atts = conn.execute(sa.select(attachment.c.id, attachment.c.instance_id, attachment.c.filename,
                                      attachment.c.size, attachment.c.sha256, attachment.c.uploaded_by,
                                      attachment.c.uploaded_at)
                            .where(attachment.c.instance_id.in_(ids)).order_by(attachment.c.id)).all()
        files["attachments.json"] = _json([dict(a._mapping) for a in atts])
        files.update(_documents(conn, ids))
        version_breaks = [b for b in audit.verify_versions(conn) if b.chain in {f"version:{v.process_key}" for v in versions}]
    report = audit.verify_report(engine.db, chains=ids, check_versions=False)
    report.breaks.extend(version_breaks)
    verification = {"chains": report.to_dict()}
    if instance_id:
        verification["replay"] = replay.replay(engine, instance_id).to_dict()
    files["verification.json"] = _json(verification)
    files["SHA256SUMS"] = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                                  for name, data in sorted(files.items())).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    data = buf.getvalue()
    summary = {"instances": len(ids), "ok": report.ok and verification.get("replay", {}).get("ok", True),
               "files": len(files), "left_out": left}
    return data, hashlib.sha256(data).hexdigest(), summary


def _documents(conn, ids: list[str]) -> dict[str, bytes]:
    """documents.json and the files of the generated documents; a document addressed to the reporter
    carries their identity, so only its hashes are listed (the chain event holds the same)."""
    files: dict[str, bytes] = {}
    listing = []
    for d in sealing.documents(conn, instance_ids=ids):
        entry = {k: d[k] for k in ("id", "instance_id", "task_id", "kind", "version", "template_version",
                                   "number_text", "data_sha256", "docx_sha256", "reveals_reporter", "generated_by",
                                   "generated_at")}
        entry["files"] = []
        for att_id, suffix in ((d["docx_id"], "docx"), (d["pdf_id"], "pdf")):
            if att_id is None:
                continue
            row = conn.execute(sa.select(attachment.c.sha256, attachment.c.content)
                               .where(attachment.c.id == att_id)).one()
            name = f"documents/{d['instance_id']}-{d['id']}-v{d['version']}.{suffix}"
            entry["files"].append({"file": None if d["reveals_reporter"] else name, "sha256": row.sha256})
            if not d["reveals_reporter"]:
                files[name] = row.content
        listing.append(entry)
    files["documents.json"] = _json(listing)
    return files
