"""廉政档案 (one file per person) and 医德考评 (quarterly conduct scores): the pages.

Each route makes one engine call (`engine.records.persons`, `engine.records.conduct`,
`engine.records.conduct_import`), which decides what the reader may see or do."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Invalid
from engine.org.roles import DISCIPLINE_OFFICE
from engine.records import conduct, conduct_import, persons

from .session import engine, login_required

bp = Blueprint("person_files", __name__)
MAX_UPLOAD = conduct_import.MAX_BYTES


@bp.get("/records/people")
@login_required
def people():
    """The office finds anyone's file, a head their staff's; anyone else goes to their own."""
    p = g.principal
    if not p.has(DISCIPLINE_OFFICE) and not p.heads:
        return redirect(url_for("person_files.person_file", username=p.username))
    q = (request.args.get("q") or "").strip()
    return render_template("records/people.html", people=persons.people(engine(), p, q), q=q)


@bp.get("/records/people/<username>")
@login_required
def person_file(username: str):
    return render_template("records/person_file.html", file=persons.read_file(engine(), g.principal, username))


# --- 医德考评 ---------------------------------------------------------------------------------------

def _int(name: str) -> int | None:
    raw = (request.values.get(name) or "").strip()
    return int(raw) if raw.isdigit() else None


def _conduct_page(errors=None, typed=None, import_problems=None, status=200):
    page = conduct.department_page(engine(), g.principal, request.values.get("department") or None,
                                   _int("year"), _int("quarter"))
    return render_template("records/conduct.html", page=page, errors=errors or {}, typed=typed or {},
                           import_problems=import_problems or [], kinds=conduct.KINDS), status


@bp.get("/records/conduct")
@login_required
def conduct_scores():
    return _conduct_page()


@bp.post("/records/conduct")
@login_required
def conduct_enter():
    form = request.form
    items = [{"kind": k, "points": pts, "reason": r} for k, pts, r in
             zip(form.getlist("kind"), form.getlist("points"), form.getlist("reason"))]
    entry = {"year": form.get("year"), "quarter": form.get("quarter"), "items": items,
             "veto": form.get("veto") == "yes", "veto_reason": form.get("veto_reason")}
    try:
        conduct.enter(engine(), g.principal, form.get("person", ""), entry)
    except Invalid as exc:
        errors = {pr.field or "_": _(pr.message) for pr in exc.problems} or {"_": _(exc.message)}
        return _conduct_page(errors=errors, typed={**entry, "person": form.get("person", "")}, status=422)
    flash(_("医德考评已保存"), "success")
    return redirect(url_for("person_files.conduct_scores", department=form.get("department"),
                            year=form.get("year"), quarter=form.get("quarter")))


@bp.post("/records/conduct/import")
@login_required
def conduct_import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _conduct_page(import_problems=[_("请选择 Excel 文件（.xlsx）")], status=422)
    data = upload.stream.read(MAX_UPLOAD + 1)
    try:
        done = conduct_import.import_scores(engine(), g.principal, data)
    except Invalid as exc:
        return _conduct_page(import_problems=[exc.message] + [pr.message for pr in exc.problems
                                                              if pr.message != exc.message], status=422)
    flash(_("已导入 %(q)s 条季度考评（%(p)s 人）", q=done["quarters"], p=done["people"]), "success")
    return redirect(url_for("person_files.conduct_scores", department=request.form.get("department")))
