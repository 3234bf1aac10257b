"""Server-side validation of one form submission, from an HTML post or a REST API JSON body.

Naming in HTML posts (what `web/templates/forms/_fields.html` renders):
  field                   one value; multi-selects and files repeat the name (`getlist`)
  risks[0].level          a sub-field of row 0 of the repeating field `risks`
  evidence                file field: kept attachment ids as form values, new files in `files`
Names the form does not define (csrf_token, buttons) are ignored in HTML posts; in JSON they are
errors. Either way nothing outside the definition is ever stored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field as dc_field
from typing import Mapping

from jsonschema import Draft202012Validator

from ..errors import Invalid, Problem
from .cleaning import FieldError, blank, clean, required_message
from .definition import DEFAULT_MAX_TOTAL, MB, Field, check_definition, fields, hidden_from
from .lookups import Lookups

FORM = "_form"             # error key for the submission as a whole
DEFAULT_MAX_ROWS = 200
DEFAULT_MAX_FILES = 20


@dataclass(frozen=True)
class Upload:
    """A file received with the submission, to be stored by the web layer once the submission is valid."""

    field: str
    filename: str
    content_type: str
    data: bytes = dc_field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


class Submission:
    """The outcome of validating a submission. `.data` and `.files` refuse to exist while `.errors` does."""

    def __init__(self, data: dict, files: dict, errors: dict, values: dict):
        self._data, self._files = data, files
        self.errors: dict[str, str] = errors      # field path -> message, e.g. "risks[2].level"
        self.values: dict = values                # what the user sent, as text, to re-render the page

    @property
    def ok(self) -> bool:
        return not self.errors

    def _valid(self) -> None:
        if self.errors:
            raise self.to_invalid()

    @property
    def data(self) -> dict:
        """Clean values for the workflow; raises `Invalid` if the submission has any error."""
        self._valid()
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._data.items()}

    @property
    def files(self) -> dict[str, list[Upload]]:
        """New uploads per file field, still to be stored; raises `Invalid` if there is any error."""
        self._valid()
        return {k: list(v) for k, v in self._files.items()}

    def data_with_uploads(self, stored: Mapping[str, list[str]]) -> dict:
        """`.data` with the ids of the stored `.files` appended to their fields, in upload order."""
        data = self.data
        for name, uploads in self._files.items():
            ids = list(stored.get(name, ()))
            if len(ids) != len(uploads):
                raise ValueError(f"{len(uploads)} uploads of '{name}' but {len(ids)} stored ids")
            data[name] = data[name] + ids
        return data

    def to_invalid(self) -> Invalid:
        problems = [Problem(message, field=path, code="invalid_field") for path, message in self.errors.items()]
        return Invalid(f"表单有 {len(problems)} 处需要修改", problems)


class _Budget:
    def __init__(self, total: int):
        self.total = self.left = total


_CHECKED: dict[str, bool] = {}     # definitions (as canonical JSON) that passed check_definition


def _check_once(definition: dict) -> None:
    """check_definition, once per distinct definition: checking a schema against the JSON Schema
    meta-schema costs far more than the submission it guards."""
    key = json.dumps(definition, sort_keys=True, ensure_ascii=False, default=str)
    if key in _CHECKED:
        return
    if problems := check_definition("form", definition):
        raise ValueError("the form definition is broken: " + "; ".join(map(str, problems)))
    if len(_CHECKED) >= 512:
        _CHECKED.clear()
    _CHECKED[key] = True


_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(schema: dict) -> Draft202012Validator:
    key = json.dumps(schema, sort_keys=True, ensure_ascii=False, default=str)
    hit = _VALIDATORS.get(key)
    if hit is None:
        if len(_VALIDATORS) >= 512:
            _VALIDATORS.clear()
        hit = _VALIDATORS[key] = Draft202012Validator(schema)
    return hit


NOT_YOURS = "此项仅限指定角色填写，你无权填写"


def validate_submission(definition: dict, raw, *, lookups: Lookups, files=None,
                        max_total: int = DEFAULT_MAX_TOTAL, roles=None) -> Submission:
    """Validate `raw` (an HTML post with `getlist`, or a JSON object) against a form definition.

    `files` is the post's file part (werkzeug's `request.files`); `max_total` caps all its files.
    `roles`: the submitter's role codes; a value for a field meant for other roles (layout `roles`)
    is refused at that field. None: the caller checks who may fill what (a service of the engine).
    """
    _check_once(definition)
    form = fields(definition)
    hidden = hidden_from(definition, roles) if roles is not None else set()
    html = hasattr(raw, "getlist")
    errors: dict[str, str] = {}
    if not html and not isinstance(raw, Mapping):
        return Submission({}, {}, {FORM: "提交的数据应为 JSON 对象"}, {})
    if not html:
        names = {f.name for f in form}
        errors.update({str(k): "表单中没有这一项" for k in raw if k not in names})
    data, values, uploads, budget = {}, {}, {}, _Budget(max_total)
    for field in form:
        value = _read(raw, field, html)
        if field.name in hidden:         # not on this person's page: nothing to read, a value is refused
            if not blank(value):
                errors[field.name] = NOT_YOURS
            continue
        if field.kind == "rows":
            data[field.name], values[field.name] = _rows(field, value, lookups, errors)
            continue
        values[field.name] = _display(value)
        if field.kind == "file":
            data[field.name], uploads[field.name] = _files(field, value, files, lookups, budget, errors)
            continue
        try:
            data[field.name] = clean(field, value, lookups)
        except FieldError as exc:
            errors[field.name] = exc.message
    if not errors:
        _double_check(definition["schema"], data, errors)
    return Submission(data, {k: v for k, v in uploads.items() if v}, errors, values)


def _read(raw, field: Field, html: bool):
    if not html:
        return raw.get(field.name)
    if field.kind == "rows":
        return _html_rows(raw, field)
    if field.kind in ("multiselect", "departments", "file"):
        return list(raw.getlist(field.name))
    return (raw.getlist(field.name) or [None])[0]


def _html_rows(raw, field: Field) -> list[dict]:
    """`risks[0].level`… -> [{"level": …}], rows ordered by index (the script keeps them 0, 1, 2…)."""
    name = re.compile(rf"{re.escape(field.name)}\[(\d{{1,4}})\]\.(\w+)")
    columns = {c.name: c for c in field.columns}
    rows: dict[int, dict] = {}
    for key in raw.keys():
        match = name.fullmatch(key)
        if match and match.group(2) in columns:
            got = list(raw.getlist(key))
            multi = columns[match.group(2)].kind in ("multiselect", "departments")
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = got if multi else (got or [None])[0]
    return [rows[i] for i in sorted(rows)]


def _rows(field: Field, value, lookups, errors: dict) -> tuple[list, list]:
    """Clean each row not left wholly blank; a sub-field's error is keyed `risks[2].level`."""
    name, columns = field.name, {c.name: c for c in field.columns}
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        errors[name] = f"“{field.title}”应为由对象组成的列表"
        return [], []
    rows, shown = [], []
    for row in value:
        extra = [k for k in row if k not in columns]
        if not extra and all(blank(row.get(c)) for c in columns):
            continue
        i, clean_row = len(rows), {}
        for key in extra:
            errors[f"{name}[{i}].{key}"] = f"第 {i + 1} 行：表单中没有这一项"
        for column in field.columns:
            try:
                clean_row[column.name] = clean(column, row.get(column.name), lookups)
            except FieldError as exc:
                errors[f"{name}[{i}].{column.name}"] = f"第 {i + 1} 行：{exc.message}"
        rows.append(clean_row)
        shown.append({c: _display(row.get(c)) for c in columns})
    low = field.schema.get("minItems", 1 if field.required else 0)
    high = field.schema.get("maxItems", DEFAULT_MAX_ROWS)
    if not rows and low:
        errors[name] = required_message(field) if field.required else f"“{field.title}”至少填写 {low} 行"
    elif len(rows) < low:
        errors[name] = f"“{field.title}”至少填写 {low} 行"
    elif len(rows) > high:
        errors[name] = f"“{field.title}”最多填写 {high} 行"
    return rows, shown


def _files(field: Field, value, files, lookups, budget: _Budget, errors: dict) -> tuple[list, list]:
    """Attachment ids kept from before (checked through `lookups`) plus new uploads, within limits."""
    title, found = field.title, []
    if value is not None and not isinstance(value, list):
        errors[field.name] = f"“{title}”应为附件编号的列表"
        return [], []
    refs, uploads = [], []
    for ref in value or []:
        if blank(ref):
            continue
        meta = lookups.attachment(ref) if isinstance(ref, str) else None
        if meta is None:
            found.append(f"找不到附件“{ref}”")
        elif (message := _file_problem(field, meta.filename, meta.content_type, meta.size)):
            found.append(message)
        elif ref not in refs:
            refs.append(ref)
    for item in (files.getlist(field.name) if files is not None else []):
        filename = re.split(r"[\\/]", getattr(item, "filename", None) or "")[-1].strip()
        if not filename:
            continue                       # an <input type=file> left empty still posts a part
        content_type = getattr(item, "content_type", None) or ""
        if (message := _file_problem(field, filename, content_type, 0)):
            found.append(message)
            continue
        content = item.read(min(field.max_size, budget.left) + 1)    # never read more than refusing needs
        if (message := _file_problem(field, filename, content_type, len(content))):
            found.append(message)
        elif not content:
            found.append(f"文件“{filename}”是空文件")
        elif len(content) > budget.left:
            found.append(f"一次提交的文件合计不能超过 {_size(budget.total)}")
        else:
            budget.left -= len(content)
            uploads.append(_upload(field.name, filename, content_type, content))
    count = len(refs) + len(uploads)
    low = field.schema.get("minItems", 0)
    high = field.schema.get("maxItems", DEFAULT_MAX_FILES)
    if not found and count == 0 and field.required:
        found.append(required_message(field))
    elif not found and count < low:
        found.append(f"“{title}”至少上传 {low} 个文件")
    elif not found and count > high:
        found.append(f"“{title}”最多上传 {high} 个文件")
    if found:
        errors[field.name] = "；".join(found)
    return refs, uploads


def _upload(name: str, filename: str, content_type: str, content: bytes) -> Upload:
    return Upload(name, filename, content_type.split(";")[0].strip().lower(), content)


def _file_problem(field: Field, filename: str, content_type: str, size: int) -> str | None:
    if not accepted(field.accept, filename, content_type):
        return f"文件“{filename}”的类型不允许，只接受 {'、'.join(field.accept)}"
    if size > field.max_size:
        return f"文件“{filename}”超过 {_size(field.max_size)}"
    return None


def accepted(accept, filename: str, content_type: str) -> bool:
    """Both the extension and the MIME type must fit when the list names each kind."""
    extensions = [a.lower() for a in accept if a.startswith(".")]
    types = [a.lower() for a in accept if "/" in a]
    ext = ("." + filename.rsplit(".", 1)[1].lower()) if "." in filename else ""
    mime = (content_type or "").split(";")[0].strip().lower()
    ext_ok = not extensions or ext in extensions
    mime_ok = not types or any(mime == t or (t.endswith("/*") and mime.startswith(t[:-1])) for t in types)
    return ext_ok and mime_ok


def _size(n: int) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{max(1, n // 1024)} KB"


def values_from_data(data: dict) -> dict:
    """Stored data as form values, to open a form pre-filled (a report sent back for changes)."""
    return {k: _display(v) for k, v in data.items()}


def _display(value):
    """A received value as the text an input shows again."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_display(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _display(v) for k, v in value.items()}
    return str(value)


def _double_check(schema: dict, data: dict, errors: dict) -> None:
    """The JSON Schema itself over the clean data: catches keywords the cleaners do not apply, such as
    a conditional requirement (`if`/`then`: a comment is required when the report is sent back)."""
    for err in _validator(schema).iter_errors(_prune(data)):
        path = list(err.absolute_path)
        key = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))
        if err.validator == "required" and isinstance(err.instance, dict):
            props = _properties_at(schema, path)
            for name in [n for n in err.validator_value if n not in err.instance]:
                title = props.get(name, {}).get("title", name)
                errors.setdefault(f"{key}.{name}" if key else name, f"请填写“{title}”")
            continue
        title = schema["properties"].get(path[0], {}).get("title", path[0]) if path else ""
        errors.setdefault(key or FORM, f"“{title}”的内容不符合表单要求" if title else "表单内容不符合要求")


def _properties_at(schema: dict, path: list) -> dict:
    """The `properties` of the object at `path` (`risks`, 2 -> the row schema's properties)."""
    for part in path:
        schema = schema.get("items", {}) if isinstance(part, int) else schema.get("properties", {}).get(part, {})
    return schema.get("properties", {})


def _prune(value):
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value
