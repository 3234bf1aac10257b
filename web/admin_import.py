"""Importing departments and staff from Excel or CSV: upload, preview with row errors, then apply in
the background with a progress bar. All or nothing: one transaction."""
from __future__ import annotations

import secrets
import threading
import time

from flask import abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.org import importing as importer
from engine.db.transactions import read_transaction, write_transaction
from engine.errors import EngineError

from .admin import admin_only, bp
from .session import engine

PENDING_TTL = 1800          # an uploaded file waits this many seconds for its confirmation


class _Job:
    def __init__(self, owner: str, plan):
        self.owner, self.plan, self.created = owner, plan, time.monotonic()
        self.state, self.done, self.total, self.result, self.error = "pending", 0, 0, None, None

    def status(self) -> dict:
        return {"state": self.state, "done": self.done, "total": self.total, "error": self.error,
                "result": self.result}


def _jobs() -> dict[str, _Job]:
    jobs = current_app.extensions.setdefault("org_imports", {})
    now = time.monotonic()
    for key in [k for k, j in jobs.items() if j.state != "running" and now - j.created > PENDING_TTL]:
        del jobs[key]
    return jobs


def _job(token: str) -> _Job:
    job = _jobs().get(token)
    if job is None or job.owner != g.principal.username:
        abort(404)
    return job


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
        plan = importer.parse(upload.filename, upload.read())
        with read_transaction(engine().db) as conn:
            preview = importer.preview(conn, plan)
    except EngineError as exc:
        problems = [{"message": p.message, "where": _where(p)} for p in getattr(exc, "problems", [])] \
            or [{"message": exc.message, "where": ""}]
        return render_template("admin/import.html", preview=None, problems=problems, token=None), 422
    token = None
    if preview.ok:
        token = secrets.token_urlsafe(16)
        _jobs()[token] = _Job(g.principal.username, plan)
    problems = [{"message": p.message, "where": _where(p)} for p in preview.problems]
    return render_template("admin/import.html", preview=preview, problems=problems, token=token,
                           filename=upload.filename), (200 if preview.ok else 422)


def _where(p) -> str:
    parts = [p.file or "", _("第 %(n)s 行", n=p.line) if p.line else "", p.field or ""]
    return " ".join(x for x in parts if x)


@bp.post("/import/<token>")
@admin_only
def org_import_apply(token: str):
    job = _job(token)
    if job.state == "pending":
        job.state = "running"
        eng, app = engine(), current_app._get_current_object()
        threading.Thread(target=_run, args=(app, eng, job), daemon=True, name=f"org-import-{token[:6]}").start()
    return redirect(url_for("admin.org_import_progress", token=token))


def _run(app, eng, job: _Job) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
    try:
        with write_transaction(eng.db) as conn:
            result = importer.apply(conn, job.plan, eng.clock.now(), progress=progress)
        job.result, job.state = result.to_dict(), "done"
    except EngineError as exc:
        job.error, job.state = exc.message, "failed"
    except Exception:                      # reported to the page, logged in full for the operator
        app.logger.exception("organisation import failed")
        job.error, job.state = _("导入失败，未写入任何内容"), "failed"


@bp.get("/import/<token>")
@admin_only
def org_import_progress(token: str):
    return render_template("admin/import_progress.html", token=token, job=_job(token))


@bp.get("/import/<token>/status")
@admin_only
def org_import_status(token: str):
    return jsonify(_job(token).status())
