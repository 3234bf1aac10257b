"""Audit pages for auditors and the discipline office: an instance's timeline replayed on its diagram,
the replay check, audit packages, per-version heatmaps, reporter-access grants, and the discipline
office's approval of migrations that change who may see or act on an instance.

Read-only: an auditor (`engine.permissions.is_read_only`: holding `auditor` and no explicit write
role, whatever else they hold) may read every page and change nothing — any other method than GET is
refused for it here, once for pages and API alike, except signing in and out and its own password
and language.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.audit import chain_check, export as audit_export, timeline as audit_timeline
from engine.org import accounts, admin_log
from engine.permissions import ADMIN_LOG_READERS, AUDITORS, OFFICE, is_read_only
from engine.errors import Conflict, Invalid, NotFound, Problem
from engine.runtime import migration as instance_migration
from engine.deadlines.workdays import BEIJING

from .session import engine, roles_required

bp = Blueprint("audit", __name__)
AUDIT_ROLES = tuple(sorted(AUDITORS))
# Posts a read-only account may make: its own session and settings, and reading a reporter's identity
# under a grant of the discipline office (which writes nothing but the audited access event).
# Verifying the hash chains records only the check itself (on the anchors chain), an auditor's own work.
PERSONAL = {"auth.logout", "auth.set_locale", "auth.change_password", "auth.login", "clues.reveal",
            "audit.verify_chains", "auth.two_factor", "auth.enrol", "auth.account_two_factor"}
API_PERSONAL = ("/api/v1/auth/token",)


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def refuse_changes_by_auditors():
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if request.path.startswith("/api/"):
            if request.path in API_PERSONAL:
                return None
            from .api.auth import _bearer
            token = _bearer()
            if token is None:
                return None
            holder = accounts.principal_for_token(engine(), token)
            g.token_holder = (token, holder)          # token_required uses it: one lookup a request
            if is_read_only(holder):
                return jsonify(code="forbidden", message="审计员只能查看，不能修改", fields={}), 403
            return None
        if request.endpoint not in PERSONAL and is_read_only(g.get("principal")):
            abort(403)
        return None


@contextmanager
def _seen():
    """An instance or version this person may not see, or that does not exist, is simply not found."""
    try:
        yield
    except NotFound:
        abort(404)


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
    found = audit_timeline.search(engine(), g.principal, q)
    return render_template("audit/index.html", rows=found["rows"], q=q, versions=found["versions"],
                           check=chain_check.last(engine()))


@bp.post("/audit/verify")
@roles_required(*AUDIT_ROLES)
def verify_chains():
    """验证哈希链: every chain verified now, a digest anchored; the page shows the result."""
    result = chain_check.run(engine(), g.principal)
    if result["ok"]:
        flash(_("哈希链验证通过：%(c)s 条链、%(e)s 个事件", c=result["chains"], e=result["events"]), "success")
    else:
        flash(_("哈希链验证发现 %(n)s 处断裂", n=result["break_count"]), "error")
    return redirect(url_for("audit.index") + "#chain-check")


@bp.get("/audit/instances/<instance_id>")
@roles_required(*AUDIT_ROLES)
def instance(instance_id: str):
    with _seen():
        page = audit_timeline.instance_page(engine(), g.principal, instance_id)
    directory = page["directory"]
    return render_template("audit/instance.html", header=page["header"], events=page["events"],
                           elements=page["elements"],
                           grants=page["grants"], names=directory.names, people=directory.people,
                           can_grant=g.principal.has(*OFFICE))


@bp.get("/audit/instances/<instance_id>/frames")
@roles_required(*AUDIT_ROLES)
def frames(instance_id: str):
    with _seen():
        found = audit_timeline.replay_frames(engine(), g.principal, instance_id)
    return jsonify(xml=found["xml"], frames=found["frames"], names=found["names"])


@bp.get("/audit/instances/<instance_id>/replay")
@roles_required(*AUDIT_ROLES)
def replay_check(instance_id: str):
    with _seen():
        header, result = audit_timeline.replay_check(engine(), g.principal, instance_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(result.to_dict())
    return render_template("audit/replay.html", header=header, result=result)


@bp.get("/audit/instances/<instance_id>/package")
@roles_required(*AUDIT_ROLES)
def package(instance_id: str):
    with _seen():
        data, sha, _summary = audit_export.build_package(engine(), instance_id=instance_id, principal=g.principal)
    return _zip(data, sha, f"audit-{instance_id[:8]}.zip")


def _range() -> tuple[datetime, datetime]:
    start, end = _day("from"), _day("to")
    if start is None or end is None:
        raise Invalid(_("请指定日期范围"), [Problem(_("请指定开始和结束日期"), field="from" if start is None else "to")])
    return start, end


@bp.get("/audit/package")
@roles_required(*AUDIT_ROLES)
def range_package():
    """What a date range's package holds for this person, and how many instances it leaves out and why."""
    start, end = _range()
    found = audit_export.scope(engine(), g.principal, start, end + timedelta(days=1))
    return render_template("audit/package.html", found=found, start=request.args["from"], end=request.args["to"],
                           left=sum(found["left_out"].values()))


@bp.get("/audit/package.zip")
@roles_required(*AUDIT_ROLES)
def range_package_zip():
    start, end = _range()      # a package only holds what this person may see; left_out.json says the rest
    data, sha, summary = audit_export.build_package(engine(), date_from=start, date_to=end + timedelta(days=1),
                                                    principal=g.principal)
    resp = _zip(data, sha, f"audit-{start:%Y%m%d}-{end:%Y%m%d}.zip")
    resp.headers["X-Audit-Left-Out"] = str(sum(summary["left_out"].values()))
    return resp


def _zip(data: bytes, sha: str, filename: str) -> Response:
    resp = Response(data, mimetype="application/zip")
    resp.headers.set("Content-Disposition", "attachment", filename=filename)
    resp.headers["X-Content-SHA256"] = sha
    return resp


@bp.post("/audit/instances/<instance_id>/grants")
@roles_required(*OFFICE)
def grant(instance_id: str):
    try:
        audit_timeline.grant_access(engine(), g.principal, instance_id, request.form.get("to", ""),
                                    request.form.get("reason", ""))
    except NotFound as exc:
        if exc.details.get("field") == "instance_id":
            abort(404)
        raise
    flash(_("已授权查看举报人信息，并记入审计日志"), "success")
    return redirect(url_for("audit.instance", instance_id=instance_id) + "#grants")


@bp.get("/audit/versions/<int:version_id>/heatmap")
@roles_required(*AUDIT_ROLES)
def heatmap(version_id: int):
    start, end = _day("from"), _day("to")
    with _seen():
        found = audit_timeline.heatmap_page(engine(), g.principal, version_id, start,
                                            end + timedelta(days=1) if end else None)
    v, data = found["version"], found["data"]
    if request.accept_mimetypes.best == "application/json":
        return jsonify(dict(data, xml=v.bpmn_xml))
    return render_template("audit/heatmap.html", version=v, data=data, start=request.args.get("from", ""),
                           end=request.args.get("to", ""))


@bp.get("/audit/migrations")
@roles_required(*OFFICE)
def migrations():
    """Migrations that would change who may see or act on an instance, awaiting the office's approval."""
    return render_template("audit/migrations.html", pending=instance_migration.pending_migrations(engine(), g.principal))


@bp.post("/audit/migrations/<instance_id>/approve")
@roles_required(*OFFICE)
def approve_migration(instance_id: str):
    try:
        verdict = instance_migration.approve_migration(engine(), g.principal, instance_id)
    except NotFound as exc:
        if exc.details.get("field") == "instance_id":
            abort(404)
        raise
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(_("已批准，实例已从第 %(a)s 版迁移到第 %(b)s 版，并记入审计日志", a=verdict.from_version,
                b=verdict.to_version), "success")
    return redirect(url_for("audit.migrations"))


@bp.get("/audit/administration")
@roles_required(*ADMIN_LOG_READERS)
def administration():
    """The administration log: account, role and password changes, newest first (a hash chain)."""
    page = admin_log.administration_page(engine())
    return render_template("audit/administration.html", entries=page["entries"], names=page["names"])
