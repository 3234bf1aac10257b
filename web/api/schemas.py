"""What the API reads and writes, as marshmallow schemas (and so as the OpenAPI document).

Request schemas refuse unknown fields and anything the databases could not store (a NUL character,
half a surrogate pair, an integer wider than a column), so that bad input is a 422, never a 500.
"""
from __future__ import annotations

import math

import marshmallow as ma
from marshmallow import fields, validate

from engine.inbox import lists as worklist


# marshmallow's validators, with messages in Chinese like the rest of the product.
def length(min: int | None = None, max: int | None = None) -> validate.Length:
    return validate.Length(min=min, max=max, error="最多 {max} 个字符" if min is None else "须为 {min} 到 {max} 个字符")


def items(min: int, max: int) -> validate.Length:
    return validate.Length(min=min, max=max, error="须有 {min} 到 {max} 项")


def between(min: int, max: int) -> validate.Range:
    return validate.Range(min=min, max=max, error="须在 {min} 到 {max} 之间")


def one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices), error="须为 {choices} 之一")


INT32 = between(-(2 ** 31), 2 ** 31 - 1)
MAX_DEPTH = 32             # of nested objects and arrays in process or form data


def unstorable(value) -> str | None:
    """Why the databases could not keep `value` (a string, or every string of a JSON value), or None:
    a NUL character, half a surrogate pair, NaN or infinity (Python reads them, JSON has none), nesting
    deeper than MAX_DEPTH."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "含有无法保存的字符"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "含有无法保存的字符"
        elif isinstance(item, float) and not math.isfinite(item):
            return "JSON 中没有 NaN 或 Infinity"
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return f"嵌套不能超过 {MAX_DEPTH} 层"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


STORABLE = r"^[^\x00]*$"   # that rule for the document (lone surrogates, rare, are left out of it)


class Text(fields.String):
    """A string the databases can store."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"pattern": STORABLE, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if message := unstorable(value):
            raise ma.ValidationError(message)
        return value


class JsonObject(fields.Dict):
    """Any JSON object (process or form data); its strings must be storable too."""

    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(), values=fields.Raw(allow_none=True), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if message := unstorable(value):        # before marshmallow walks it
            raise ma.ValidationError(message)
        return super()._deserialize(value, attr, data, **kwargs)


class Timestamp(fields.DateTime):
    """An ISO 8601 moment; the engine hands some over already formatted."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class Request(ma.Schema):
    class Meta:
        unknown = ma.RAISE           # also documented: additionalProperties false


# --- errors ---------------------------------------------------------------------------------------

class ErrorSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE        # an error may add details: who holds the task, until when an account is locked

    code = fields.String(required=True, metadata={"description": "machine-readable: invalid, not_found, conflict…"})
    message = fields.String(required=True, metadata={"description": "for people, in Chinese"})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "each field at fault (a dotted path) and what is wrong with it"})


class ProblemSchema(ma.Schema):
    message = fields.String(required=True)
    file = fields.String()
    element_id = fields.String()
    line = fields.Integer()
    field = fields.String()
    code = fields.String()


class DeployErrorSchema(ErrorSchema):
    problems = fields.List(fields.Nested(ProblemSchema),
                           metadata={"description": "every problem found, located by file, element and line"})


# --- tokens ---------------------------------------------------------------------------------------

class TokenRequestSchema(Request):
    username = Text(required=True, validate=length(max=64))
    password = Text(required=True, validate=length(max=1024))


class TokenSchema(ma.Schema):
    token = fields.String(required=True, metadata={"description": "send as `Authorization: Bearer <token>`"})
    expires_at = Timestamp(required=True)


# --- processes ------------------------------------------------------------------------------------

class VersionSchema(ma.Schema):
    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True)
    note = fields.String(allow_none=True)
    deployed_by = fields.String(required=True)
    deployed_at = Timestamp(required=True)


class ProcessSchema(ma.Schema):
    key = fields.String(required=True)
    name = fields.String(allow_none=True)
    latest = fields.Nested(VersionSchema, required=True)
    versions = fields.List(fields.Nested(VersionSchema), required=True)


class ProcessListSchema(ma.Schema):
    items = fields.List(fields.Nested(ProcessSchema), required=True)


class SourceFileSchema(Request):
    name = Text(required=True, validate=length(1, 255))
    xml = Text(required=True, validate=length(1, 5 * 1024 * 1024))


class DeployRequestSchema(Request):
    files = fields.List(fields.Nested(SourceFileSchema), required=True, validate=items(1, 50))
    note = Text(allow_none=True, validate=length(max=2000))


class ValidateRequestSchema(Request):
    files = fields.List(fields.Nested(SourceFileSchema), required=True, validate=items(1, 50))


class ValidResultSchema(ma.Schema):
    valid = fields.Boolean(required=True, metadata={"description": "true: the files would deploy"})


class MigrateRequestSchema(Request):
    to_version = fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "the version to move to; default the latest"})


class ObstacleSchema(ma.Schema):
    element_id = fields.String(required=True)
    process = fields.String(required=True)
    reason = fields.String(required=True)


class MigrationSchema(ma.Schema):
    instance_id = fields.String(required=True)
    process_key = fields.String(required=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    safe = fields.Boolean(required=True)
    obstacles = fields.List(fields.Nested(ObstacleSchema), required=True)


class DeployedSchema(ma.Schema):
    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    sha256 = fields.String(required=True)
    file_name = fields.String(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false when identical to the latest version"})


class DeployResultSchema(ma.Schema):
    versions = fields.List(fields.Nested(DeployedSchema), required=True)


# --- tasks ----------------------------------------------------------------------------------------

class TaskSchema(ma.Schema):
    id = fields.String(required=True)
    instance_id = fields.String(required=True)
    process_key = fields.String(required=True)
    element_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    lane = fields.String(allow_none=True)
    candidate_role = fields.String(allow_none=True)
    candidate_department = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    priority = fields.Integer(required=True)
    status = fields.String(required=True)
    created_at = Timestamp(required=True)
    due_at = Timestamp(allow_none=True)
    due_provisional = fields.Boolean()
    claimed_at = Timestamp(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = Timestamp(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True, metadata={"description": "the task's form definition (forms/<key>.json)"})
    can_work = fields.Boolean(required=True, metadata={"description": "the caller may claim or complete it now"})
    can_reassign = fields.Boolean(required=True)


class TaskListItemSchema(TaskSchema):
    business_key = fields.String(allow_none=True)
    process_name = fields.String(allow_none=True)
    process_version = fields.Integer()


class TaskPageSchema(ma.Schema):
    items = fields.List(fields.Nested(TaskListItemSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class TaskQuerySchema(Request):
    """The inbox's filters (`engine.worklist.TaskQuery`). An unknown one is refused, not ignored: a typo
    would otherwise list the wrong tasks."""

    view = fields.String(validate=one_of(worklist.VIEWS))
    process = Text(validate=length(max=100))
    priority = fields.Integer(validate=INT32)
    department = Text(validate=length(max=100))
    q = Text(validate=length(max=100), metadata={"description": "search in names and business keys"})
    sort = fields.String(validate=one_of(worklist.SORTS))
    page = fields.Integer(validate=between(1, 100_000))
    per_page = fields.Integer(validate=one_of(worklist.PER_PAGE))


class HandoverSchema(Request):
    to = Text(required=True, validate=length(max=64),
              metadata={"description": "username of an active colleague"})
    reason = Text(required=True, validate=length(max=2000))


class RecusalSchema(Request):
    reason = Text(required=True, validate=length(max=500),
                  metadata={"description": "why the caller must not handle this matter (自行回避)"})


class CompleteSchema(Request):
    data = JsonObject(load_default=dict, metadata={"description": "the form's fields, as its definition says"})


class ResolveSchema(Request):
    data = JsonObject(load_default=dict, metadata={"description": "what the delegate filled in of the task's form "
                                                                  "(the owner's form opens with it)"})
    note = Text(load_default="", validate=length(max=2000),
                metadata={"description": "a note to the owner, kept in the history"})


class CommentRequestSchema(Request):
    body = Text(required=True, validate=length(max=10_000))


class CommentSchema(ma.Schema):
    id = fields.Integer(required=True)
    instance_id = fields.String(required=True)
    task_id = fields.String(allow_none=True)
    author = fields.String(required=True)
    body = fields.String(required=True)
    created_at = Timestamp(required=True)


class CommentListSchema(ma.Schema):
    items = fields.List(fields.Nested(CommentSchema), required=True)


# --- instances ------------------------------------------------------------------------------------

class StartSchema(Request):
    process_key = Text(required=True, validate=length(1, 255))
    version = fields.Integer(strict=True, allow_none=True, validate=between(1, 2 ** 31 - 1))
    business_key = Text(allow_none=True, validate=length(max=255))
    data = JsonObject(allow_none=True)


class WaitingSchema(ma.Schema):
    id = fields.String(required=True)
    element_id = fields.String(required=True)
    state = fields.String(required=True)


class IncidentSchema(ma.Schema):
    id = fields.Integer(required=True)
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    message = fields.String(required=True)
    script_line = fields.Integer(allow_none=True)
    created_at = Timestamp(required=True)


class InstanceSchema(ma.Schema):
    id = fields.String(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    business_key = fields.String(allow_none=True)
    status = fields.String(required=True)
    started_by = fields.String(required=True)
    started_at = Timestamp(required=True)
    ended_at = Timestamp(allow_none=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True, metadata={"description": "open tasks"})
    waiting = fields.List(fields.Nested(WaitingSchema), required=True)
    incidents = fields.List(fields.Nested(IncidentSchema), required=True)
    data = fields.Dict(required=True)


class EventSchema(ma.Schema):
    seq = fields.Integer(required=True)
    type = fields.String(required=True)
    at = Timestamp(required=True)
    actor = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    hash = fields.String(required=True, metadata={"description": "of this event and the one before it"})


class EventListSchema(ma.Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)



# -- document numbers (文号) ----------------------------------------------------------------------

class NumberQuerySchema(Request):
    kind = Text(validate=length(max=32), metadata={"description": "a sequence, e.g. 函 (all when absent)"})
    year = fields.Integer(validate=between(2000, 2100), metadata={"description": "this year when absent"})


class DocumentNumberSchema(ma.Schema):
    kind = fields.String(required=True, metadata={"description": "the sequence (函, 告, 报 …)"})
    year = fields.Integer(required=True)
    number = fields.Integer(required=True)
    text = fields.String(required=True, metadata={"description": "as printed, e.g. X纪函〔2026〕12号"})
    status = fields.String(required=True, metadata={"description": "issued or voided"})
    instance_id = fields.String(allow_none=True)
    issued_by = fields.String(required=True)
    issued_at = Timestamp(required=True)
    voided_by = fields.String(allow_none=True)
    voided_at = Timestamp(allow_none=True)
    void_reason = fields.String(allow_none=True)


class NumberRegisterSchema(ma.Schema):
    kind = fields.String(allow_none=True)
    year = fields.Integer(required=True)
    items = fields.List(fields.Nested(DocumentNumberSchema), required=True)


class VoidNumberSchema(Request):
    reason = Text(required=True, validate=length(max=500), metadata={"description": "why (kept with the number)"})
