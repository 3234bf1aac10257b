"""Importing departments and staff from Excel or CSV: upload, preview with row errors, then apply in
the background with a progress bar. All or nothing: one transaction. The job lives in the database
(`engine.org.importing`), so any worker may confirm it and report its progress."""
from __future__ import annotations

from dataclasses import replace

from flask import abort, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.org import importing as importer
from engine.errors import EngineError, NotFound

from .admin import admin_only, bp
from .session import engine


@bp.route("/import", methods=["GET", "POST"])
@admin_only
def org_import():
    if request.method == "GET":
        return render_template("admin/import.html", preview=None, problems=[], token=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("admin/import.html", preview=None, token=None,
                               problems=[{"message": _("请选择 Excel 或 CSV 文件"), "where": ""}]), 422
    try:
        preview, token = importer.stage(engine(), g.principal.username, upload.filename, upload.read())
    except EngineError as exc:
        problems = [{"message": p.message, "where": _where(p)} for p in getattr(exc, "problems", [])] \
            or [{"message": exc.message, "where": ""}]
        return render_template("admin/import.html", preview=None, problems=problems, token=None), 422
    problems = [{"message": p.message, "where": _where(p)} for p in preview.problems]
    return render_template("admin/import.html", preview=preview, problems=problems, token=token,
                           filename=upload.filename), (200 if preview.ok else 422)


def _where(p) -> str:
    parts = [p.file or "", _("第 %(n)s 行", n=p.line) if p.line else "", p.field or ""]
    return " ".join(x for x in parts if x)


def _shown(job: importer.Job) -> importer.Job:
    if job.state == "failed" and job.error is None:
        return replace(job, error=_("导入失败，未写入任何内容"))
    return job


def _job(call, token: str) -> importer.Job:
    try:
        return _shown(call(engine(), token, g.principal.username))
    except NotFound:
        abort(404)


@bp.post("/import/<token>")
@admin_only
def org_import_apply(token: str):
    _job(importer.start, token)
    return redirect(url_for("admin.org_import_progress", token=token))


@bp.get("/import/<token>")
@admin_only
def org_import_progress(token: str):
    return render_template("admin/import_progress.html", token=token, job=_job(importer.job, token))


@bp.get("/import/<token>/status")
@admin_only
def org_import_status(token: str):
    return jsonify(_job(importer.job, token).status())
