"""One check on every request's input before any route sees it: no NUL character anywhere in the
query string, the form fields, a JSON body or the URL path. PostgreSQL refuses NUL in text (a 500 on
every route that stores or searches a value), and no field of ours has a use for it; refusing it
here, with the field named, is one rule instead of one per route. A field carrying one is a 422
naming it (`{code, message, fields}` on the API, as every refusal there); a path carrying one names
nothing we hold: 404."""
from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _

from engine.errors import Invalid, Problem

from .errors import error_body, wants_json

NUL = "\x00"
PATH = object()


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul():
        field = _nul_field()
        if field is None:
            return None
        if field == PATH:
            abort(404)
        message = _("输入中含有不允许的控制字符（NUL），请删除后重新提交。")
        if wants_json():
            return jsonify(error_body(Invalid(message, [Problem("含有无法保存的字符", field=field)]))), 422
        return render_template("error.html", status=422, message=message), 422


def _nul_field():
    """The name of the first field carrying a NUL, PATH for the URL path, or None."""
    if NUL in request.path:
        return PATH
    sources = [request.args] if request.is_json else [request.args, request.form]
    for source in sources:
        for key, values in source.lists():
            if NUL in key or any(NUL in v for v in values):
                return key.replace(NUL, "")
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:        # nested past Python's limit: the route's own parsing refuses it
            return None
        found = _in_json(body)
        if found is not None:
            return found or "_"
    return None


def _in_json(body) -> str | None:
    """The path of the first string or key holding a NUL (iteratively: a body may nest deeply)."""
    stack = [("", body)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return where
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                path = f"{where}.{k}" if where else str(k)
                if NUL in str(k):
                    return path.replace(NUL, "")
                stack.append((path, v))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return None
