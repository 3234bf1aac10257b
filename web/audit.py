"""Audit pages for auditors and the discipline office: an instance's timeline replayed on its diagram,
the replay check, audit packages, per-version heatmaps, reporter-access grants.

Read-only: an account whose only role is `auditor` may read every page and change nothing — any
other method than GET is refused for it (pages and API), except signing in and out and its own
password and language.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.clues import reporter_access as audit_access
from engine.audit import export as audit_export, timeline as audit_timeline
from engine.org import people as org
from engine.runtime import replay
from engine.inbox import lists as worklist
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import Invalid, Problem
from engine.db.schema import process_instance, process_version
from engine.deadlines.workdays import BEIJING

from .session import engine, roles_required

bp = Blueprint("audit", __name__)
AUDIT_ROLES = ("auditor", "discipline_office", "admin")
READ_ONLY_ROLES = frozenset({"auditor"})
# Posts a read-only account may make: its own session and settings, and reading a reporter's identity
# under a grant of the discipline office (which writes nothing but the audited access event).
PERSONAL = {"auth.logout", "auth.set_locale", "auth.change_password", "auth.login", "clues.reveal"}
API_PERSONAL = ("/api/v1/auth/token",)


def is_read_only(principal) -> bool:
    return principal is not None and bool(principal.roles) and principal.roles <= READ_ONLY_ROLES


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def refuse_changes_by_auditors():
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if request.path.startswith("/api/"):
            if request.path in API_PERSONAL:
                return None
            from engine.org import accounts
            from .api.auth import _bearer
            token = _bearer()
            if token is None:
                return None
            eng = engine()
            with read_transaction(eng.db) as conn:
                holder = accounts.token_principal(conn, token, eng.clock.now())
            g.token_holder = (token, holder)          # token_required uses it: one lookup a request
            if is_read_only(holder):
                return jsonify(code="forbidden", message="审计员只能查看，不能修改", fields={}), 403
            return None
        if request.endpoint not in PERSONAL and is_read_only(g.get("principal")):
            abort(403)
        return None


def _visible(conn, instance_id: str) -> dict:
    try:
        header = audit_timeline.instance_header(conn, instance_id)
    except Exception:  # noqa: BLE001 - a malformed or unknown id is simply not found
        abort(404)
    if not worklist.can_view_instance(conn, g.principal, instance_id):
        abort(404)
    return header


def _day(name: str) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time(0), BEIJING)
    except ValueError:
        raise Invalid(_("日期格式有误"), [Problem(_("日期格式应为 2026-09-28"), field=name)]) from None


@bp.get("/audit")
@roles_required(*AUDIT_ROLES)
def index():
    q = (request.args.get("q") or "").strip()[:100]
    pi = process_instance.c
    query = sa.select(pi.id, pi.process_key, pi.business_key, pi.status, pi.started_by, pi.started_at,
                      pi.event_seq).order_by(pi.started_at.desc()).limit(100)
    if q:
        query = query.where(sa.or_(pi.id == q, pi.business_key.contains(q, autoescape=True), pi.process_key == q))
    eng = engine()
    with read_transaction(eng.db) as conn:
        rows = [r for r in conn.execute(query) if worklist.can_view_instance(conn, g.principal, r.id)]
        versions = conn.execute(sa.select(process_version.c.id, process_version.c.process_key, process_version.c.version,
                                          process_version.c.name)
                                .order_by(process_version.c.process_key, process_version.c.version)).all()
    return render_template("audit/index.html", rows=rows, q=q, versions=versions)


@bp.get("/audit/instances/<instance_id>")
@roles_required(*AUDIT_ROLES)
def instance(instance_id: str):
    eng = engine()
    with read_transaction(eng.db) as conn:
        header = _visible(conn, instance_id)
        events = audit_timeline.events(conn, instance_id)
        grants = audit_access.grants(conn, instance_id)
        names = {r["username"]: r["name"] for r in org.list_staff(conn, active_only=False)}
        people = [(p["username"], p["name"]) for p in org.list_staff(conn)]
    return render_template("audit/instance.html", header=header, events=events, grants=grants, names=names,
                           people=people, can_grant=g.principal.has("discipline_office"))


@bp.get("/audit/instances/<instance_id>/frames")
@roles_required(*AUDIT_ROLES)
def frames(instance_id: str):
    eng = engine()
    with read_transaction(eng.db) as conn:
        _visible(conn, instance_id)
        xml = conn.execute(sa.select(process_version.c.bpmn_xml).join(
            process_instance, process_instance.c.process_version_id == process_version.c.id)
            .where(process_instance.c.id == instance_id)).scalar()
        events = audit_timeline.events(conn, instance_id)
    return jsonify(xml=xml, frames=audit_timeline.frames(events))


@bp.get("/audit/instances/<instance_id>/replay")
@roles_required(*AUDIT_ROLES)
def replay_check(instance_id: str):
    eng = engine()
    with read_transaction(eng.db) as conn:
        header = _visible(conn, instance_id)
    result = replay.replay(eng, instance_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(result.to_dict())
    return render_template("audit/replay.html", header=header, result=result)


@bp.get("/audit/instances/<instance_id>/package")
@roles_required(*AUDIT_ROLES)
def package(instance_id: str):
    eng = engine()
    with read_transaction(eng.db) as conn:
        _visible(conn, instance_id)
    data, sha, _summary = audit_export.build_package(eng, instance_id=instance_id)
    return _zip(data, sha, f"audit-{instance_id[:8]}.zip")


@bp.get("/audit/package")
@roles_required(*AUDIT_ROLES)
def range_package():
    start, end = _day("from"), _day("to")
    if start is None or end is None:
        raise Invalid(_("请指定日期范围"), [Problem(_("请指定开始和结束日期"), field="from" if start is None else "to")])
    eng = engine()
    with read_transaction(eng.db) as conn:     # a package only holds what this person may see
        for r in audit_export.select_instances(conn, None, start, end + timedelta(days=1)):
            if not worklist.can_view_instance(conn, g.principal, r.id):
                abort(403)
    data, sha, _summary = audit_export.build_package(eng, date_from=start, date_to=end + timedelta(days=1))
    return _zip(data, sha, f"audit-{start:%Y%m%d}-{end:%Y%m%d}.zip")


def _zip(data: bytes, sha: str, filename: str) -> Response:
    resp = Response(data, mimetype="application/zip")
    resp.headers.set("Content-Disposition", "attachment", filename=filename)
    resp.headers["X-Content-SHA256"] = sha
    return resp


@bp.post("/audit/instances/<instance_id>/grants")
@roles_required("discipline_office")
def grant(instance_id: str):
    eng = engine()
    with write_transaction(eng.db) as conn:
        _visible(conn, instance_id)
        audit_access.grant_reporter_access(conn, instance_id, g.principal.username, request.form.get("to", ""),
                                           eng.clock.now(), request.form.get("reason", ""))
    flash(_("已授权查看举报人信息，并记入审计日志"), "success")
    return redirect(url_for("audit.instance", instance_id=instance_id) + "#grants")


@bp.get("/audit/versions/<int:version_id>/heatmap")
@roles_required(*AUDIT_ROLES)
def heatmap(version_id: int):
    start, end = _day("from"), _day("to")
    eng = engine()
    with read_transaction(eng.db) as conn:
        v = conn.execute(sa.select(process_version).where(process_version.c.id == version_id)).one_or_none()
        if v is None:
            abort(404)
        confidential = json.loads(v.meta_json).get("process", {}).get("confidential")
        if confidential is not None and not g.principal.has(*confidential):
            abort(404)
        data = audit_timeline.heatmap(conn, version_id, start, end + timedelta(days=1) if end else None)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(dict(data, xml=v.bpmn_xml))
    return render_template("audit/heatmap.html", version=v, data=data, start=request.args.get("from", ""),
                           end=request.args.get("to", ""))
