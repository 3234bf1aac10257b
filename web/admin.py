"""Administration pages: staff and their roles, departments, the working-day calendar, org import."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.org import authenticator, hospital as hospital_profile, people as org, relations
from engine.permissions import ACCOUNT_ADMINS, ADMINS
from engine.deadlines import calendar_admin
from engine.errors import Forbidden, Invalid
from engine.org.people import DEPARTMENT_CATEGORIES, POSITION_LEVELS

from .session import engine, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
admin_only = roles_required(*ADMINS)
accounts_only = roles_required(*ACCOUNT_ADMINS)


def _problems(exc: Invalid) -> dict[str, str]:
    return {p.field or "_": p.message for p in exc.problems} or {"_": exc.message}


@bp.get("/staff")
@accounts_only
def staff_list():
    page = org.staff_page(engine(), locale=g.principal.locale, department_code=request.args.get("department") or None,
                          search=(request.args.get("q") or "").strip() or None)
    return render_template("admin/staff_list.html", **page)


@bp.route("/staff/new", methods=["GET", "POST"], defaults={"username": None})
@bp.route("/staff/<username>", methods=["GET", "POST"])
@accounts_only
def staff_edit(username):
    eng = engine()
    errors, values = {}, {}
    if request.method == "POST":
        values = {"username": username or request.form.get("username", "").strip(),
                  "name": request.form.get("name", ""), "department": request.form.get("department") or None,
                  "position_level": request.form.get("position_level", "other"),
                  "party_member": request.form.get("party_member") == "1",
                  "public_employee": request.form.get("public_employee") == "1", "email": request.form.get("email") or None,
                  "locale": request.form.get("locale", "zh"), "active": request.form.get("active") == "1",
                  "roles": request.form.getlist("roles")}
        password = request.form.get("password", "")
        try:
            org.save_person(eng, values, password, by=g.principal.username, creating=username is None)
        except Invalid as exc:
            errors = _problems(exc)
        except Forbidden as exc:                 # 三员分立: refused on the same page, the input kept
            errors = {"roles": _(exc.message)}
        else:
            flash(_("已保存 %(name)s", name=values["name"]), "success")
            return redirect(url_for("admin.staff_list"))
    form = org.staff_form(eng, None if values else username, locale=g.principal.locale)
    return render_template("admin/staff_edit.html", username=username, values=values or form["values"], errors=errors,
                           departments=form["departments"], roles=form["roles"], levels=POSITION_LEVELS,
                           relation_kinds=relations.RELATIONS,
                           two_factor=authenticator.status(eng, username) if username else None,
                           **(relations.relations_page(eng, username) if username else {"relations": [], "people": []})), \
        (422 if errors else 200)


@bp.post("/staff/<username>/relations")
@admin_only
def relation_add(username):
    """回避: record a relation (配偶、近亲属…) between this person and a colleague."""
    try:
        relations.declare(engine(), username, request.form.get("related", ""), request.form.get("relation", ""),
                          by=g.principal.username)
    except Invalid as exc:
        for message in _problems(exc).values():
            flash(_(message), "error")
        return redirect(url_for("admin.staff_edit", username=username))
    flash(_("已登记亲属关系"), "success")
    return redirect(url_for("admin.staff_edit", username=username))


@bp.post("/staff/<username>/two-factor")
@accounts_only
def staff_two_factor_reset(username):
    """The security administrator resets someone's authenticator (lost phone, no recovery code); the
    engine refuses anyone else (三员分立) and logs it on the administration chain."""
    try:
        authenticator.reset_for(engine(), g.principal.username, username)
    except (Forbidden, Invalid) as exc:          # said on the person's page (NotFound: the 404 page)
        flash(_(exc.message), "error")
        return redirect(url_for("admin.staff_edit", username=username))
    flash(_("已重置 %(username)s 的双因素验证，其所有会话已结束", username=username), "success")
    return redirect(url_for("admin.staff_edit", username=username))


@bp.get("/departments")
@admin_only
def department_list():
    return render_template("admin/departments.html", **org.department_page(engine()), categories=DEPARTMENT_CATEGORIES,
                           errors={}, values={})


@bp.post("/departments")
@admin_only
def department_save():
    eng = engine()
    values = {k: request.form.get(k, "").strip() for k in ("code", "name_zh", "name_en", "category", "head")}
    values["active"] = request.form.get("active", "1") == "1"
    try:
        org.save_department_for(eng, values)
    except Invalid as exc:
        return render_template("admin/departments.html", **org.department_page(eng), categories=DEPARTMENT_CATEGORIES,
                               errors=_problems(exc), values=values), 422
    flash(_("科室已保存"), "success")
    return redirect(url_for("admin.department_list"))


@bp.get("/calendar")
@admin_only
def calendar():
    return render_template("admin/calendar.html", overrides=calendar_admin.overrides(engine()), errors={})


@bp.post("/calendar")
@admin_only
def calendar_save():
    eng = engine()
    raw = request.form.get("day", "")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors = {"day": _("日期格式应为 2026-10-08")}
        return render_template("admin/calendar.html", overrides=calendar_admin.overrides(eng), errors=errors), 422
    working = None if request.form.get("action") == "remove" else request.form.get("working") == "1"
    calendar_admin.change(eng, day, g.principal.username, working=working, note=request.form.get("note") or None)
    flash(_("工作日历已更新，相关截止时间已重算"), "success")
    return redirect(url_for("admin.calendar"))


@bp.route("/hospital", methods=["GET", "POST"])
@admin_only
def hospital():
    """本院信息: the hospital's name, which heads every report."""
    errors = {}
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            hospital_profile.save_name(engine(), name, by=g.principal.username)
        except Invalid as exc:
            problem = exc.problems[0]
            errors = {"name": _("最多 %(n)s 个字", n=hospital_profile.NAME_MAX) if problem.code == "too_long"
                      else _("请删除不可见字符或控制字符")}
        else:
            flash(_("本院信息已保存"), "success")
            return redirect(url_for("admin.hospital"))
    else:
        name = hospital_profile.read_name(engine())
    return render_template("admin/hospital.html", name=name, errors=errors, name_max=hospital_profile.NAME_MAX), \
        (422 if errors else 200)
