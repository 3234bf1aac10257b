"""The API's errors: always `{code, message, fields}` JSON, and documented on every operation.

Engine errors get their status from `web.errors` (mapped once). What flask-smorest and webargs raise
themselves (malformed JSON, a body that does not match its schema) arrives as an HTTPException whose
`data` holds marshmallow's messages; they are flattened here into `fields` ("files.0.xml": message).
"""
from __future__ import annotations

from copy import deepcopy
from http import HTTPStatus

from flask import jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError

from ..errors import error_body, status_of

# marshmallow's and webargs's usual messages, in the language of the rest of the product.
MESSAGES_ZH = {
    "Missing data for required field.": "必填",
    "Unknown field.": "未知字段",
    "Field may not be null.": "不能为空",
    "Not a valid string.": "应为字符串",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid boolean.": "应为布尔值",
    "Not a valid list.": "应为数组",
    "Not a valid mapping type.": "应为 JSON 对象",
    "Invalid input type.": "应为 JSON 对象",
    "Invalid JSON body.": "请求体不是有效的 JSON",
}


def translate(message: str) -> str:
    return MESSAGES_ZH.get(message, message)


def flatten(messages, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages -> {"files.0.xml": "its messages"}. Schema-wide ones go under "_"."""
    if isinstance(messages, dict):
        out: dict[str, str] = {}
        for key, value in messages.items():
            name = "_" if key == "_schema" else str(key)
            out.update(flatten(value, f"{prefix}.{name}" if prefix and name != "_" else (prefix or name)))
        return out
    if isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_": "；".join(translate(m) for m in messages)} if messages else {}
        out = {}
        for item in messages:
            out.update(flatten(item, prefix))
        return out
    return {prefix or "_": translate(str(messages))}


def http_error(exc: HTTPException):
    """Errors raised by Flask, webargs or flask-smorest inside an API view."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors") or {}
    # webargs nests by location ({"json": {...}, "query": {...}}); the location adds nothing for a client.
    fields: dict[str, str] = {}
    for value in (messages.values() if isinstance(messages, dict) else [messages]):
        fields.update(flatten(value))
    status = exc.code or 500
    if status == 422:
        body = {"code": "invalid", "message": "请求参数有误", "fields": fields}
    else:
        body = {"code": exc.name.lower().replace(" ", "_"), "message": exc.description, "fields": fields}
    return jsonify(body), status, data.get("headers") or {}


def engine_error(exc: EngineError):
    return jsonify(error_body(exc)), status_of(exc)


def document_errors(*codes: int):
    """Document the error responses an operation may give (each the shared `Error` schema)."""
    def decorator(func):
        func._apidoc = deepcopy(getattr(func, "_apidoc", {}))
        responses = func._apidoc.setdefault("response", {}).setdefault("responses", {})
        for code in codes:
            responses.setdefault(code, []).append(HTTPStatus(code).name)
        return func
    return decorator
