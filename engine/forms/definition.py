"""Form definitions (data, not code): a JSON Schema for the data plus a layout naming each field's widget.

The format is described in docs/forms.md. `check_definition` finds every mistake in a form file so
that deploying a process which uses it can refuse it; `fields` reads a checked definition.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from jsonschema import Draft202012Validator

from ..errors import Problem

KINDS = ("text", "textarea", "number", "money", "date", "select", "multiselect", "yesno",
         "person", "department", "departments", "file", "rows")
ROW_KINDS = frozenset(KINDS) - {"file", "rows"}          # what a repeating row may hold
TOP_KEYS = {"title", "title_en", "instructions", "instructions_en", "schema", "layout", "bulk"}
ENTRY_KEYS = {"field", "widget", "help", "help_en", "placeholder", "placeholder_en",
              "decimals", "accept", "maxSize", "columns", "optionsFrom", "roles"}
TEXT_KEYS = ("help", "help_en", "placeholder", "placeholder_en")
MB = 1024 * 1024
DEFAULT_MAX_SIZE = 10 * MB            # per uploaded file, unless the layout says `maxSize`
DEFAULT_MAX_TOTAL = 50 * MB           # all files of one submission
DEFAULT_ACCEPT = (".pdf", ".ofd", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".et", ".txt",
                  ".jpg", ".jpeg", ".png")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
ROLE = re.compile(r"[A-Za-z0-9_.-]{1,64}")        # a role code (engine.org.roles), as lanes name them
META = Draft202012Validator(Draft202012Validator.META_SCHEMA)


@dataclass(frozen=True)
class Field:
    """One field of a checked definition: its property schema, its layout entry and, for rows, columns."""

    name: str
    kind: str
    schema: dict
    entry: dict
    required: bool
    columns: tuple[Field, ...] = ()

    @property
    def title(self) -> str:
        return self.schema.get("title") or self.name

    @property
    def options(self) -> list[dict]:
        """`[{"const": value, "title": 中文, "title_en": English}]` of a select or multi-select."""
        source = self.schema.get("items", {}) if self.kind == "multiselect" else self.schema
        return source.get("oneOf", [])

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles the field is shown to (its layout entry's `roles`); empty: everyone."""
        return tuple(self.entry.get("roles") or ())

    @property
    def accept(self) -> tuple[str, ...]:
        return tuple(self.entry.get("accept") or DEFAULT_ACCEPT)

    @property
    def max_size(self) -> int:
        return self.entry.get("maxSize") or DEFAULT_MAX_SIZE


def fields(definition: dict) -> list[Field]:
    """The fields of a definition that passed `check_definition`, in layout order."""
    return _fields(definition["schema"], definition["layout"])


def _fields(schema: dict, layout: list) -> list[Field]:
    props, required = schema.get("properties", {}), set(schema.get("required", []))
    found = []
    for entry in layout:
        name, kind = entry["field"], entry["widget"]
        prop = props[name]
        columns = tuple(_fields(prop["items"], entry["columns"])) if kind == "rows" else ()
        found.append(Field(name, kind, prop, entry, name in required, columns))
    return found


def hidden_from(definition: dict, roles) -> set[str]:
    """The fields of a definition a person holding `roles` (role codes) is not shown: those whose
    layout entry names `roles` of which they hold none."""
    held = set(roles)
    return {e["field"] for e in definition.get("layout") or []
            if isinstance(e, dict) and e.get("roles") and not held & set(e["roles"])}


def shown_to(definition: dict, roles) -> dict:
    """`definition` as a person holding `roles` fills it in: the fields meant for other roles left
    out of its layout (their schema kept, so that a refusal can still name them)."""
    hidden = hidden_from(definition, roles)
    if not hidden:
        return definition
    return {**definition, "layout": [e for e in definition["layout"] if e.get("field") not in hidden]}


def check_definition(key: str, definition: dict | str | bytes) -> list[Problem]:
    """Every problem of form `key` (its parsed JSON, or the file's text), each naming the file and field.

    The answer for a text is kept (it depends on nothing else): checking a schema against the JSON
    Schema meta-schema takes ~10 ms, and a deployment checks every form its diagrams name."""
    if isinstance(definition, dict):
        try:
            definition = json.dumps(definition, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError):           # not JSON data: checked as it is, not kept
            return _check_definition(key, definition)
    return list(_checked(key, definition))


@functools.lru_cache(maxsize=512)
def _checked(key: str, text: str | bytes) -> tuple[Problem, ...]:
    return tuple(_check_definition(key, text))


def _check_definition(key: str, definition: dict | str | bytes) -> list[Problem]:
    file = f"{key}.json"
    found: list[Problem] = []

    def problem(message: str, field: str | None = None, line: int | None = None) -> None:
        found.append(Problem(message, file=file, field=field, line=line, code="bad_form"))

    if isinstance(definition, (str, bytes)):
        try:
            definition = json.loads(definition)
        except json.JSONDecodeError as exc:
            problem(f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno)
            return found
        except ValueError as exc:      # bytes that are not UTF-8
            problem(f"not valid JSON: {exc}")
            return found
    if not isinstance(definition, dict):
        problem("a form definition must be a JSON object")
        return found
    for name in sorted(definition.keys() - TOP_KEYS):
        problem(f'unknown key "{name}" (known: {", ".join(sorted(TOP_KEYS))})', name)
    if not _nonblank(definition.get("title")):
        problem("the form needs a Chinese `title`", "title")
    for name in ("title_en", "instructions", "instructions_en"):
        if name in definition and not isinstance(definition[name], str):
            problem(f"`{name}` must be text", name)
    schema, layout = definition.get("schema"), definition.get("layout")
    if not isinstance(schema, dict):
        problem("the form needs a `schema` object (a JSON Schema)", "schema")
        return found
    meta_errors = sorted(META.iter_errors(schema), key=lambda e: e.json_path)
    for err in meta_errors:
        problem(f"the schema is not valid JSON Schema at /{'/'.join(map(str, err.absolute_path))}: "
                f"{err.message}", _schema_field(err.absolute_path) or "schema")
    if meta_errors:
        return found
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        problem('the schema must be {"type": "object", "properties": {...}}', "schema")
        return found
    if not isinstance(layout, list) or not layout:
        problem("the form needs a `layout` list with one entry per field", "layout")
        return found
    _check_layout(schema, layout, "", False, problem)
    bulk = definition.get("bulk")
    if bulk is not None and (not isinstance(bulk, dict) or bulk.get("field") not in schema["properties"]
                             or "value" not in bulk or set(bulk) - {"field", "value", "label", "label_en"}):
        problem('`bulk` must be {"field": a field of the schema, "value": the decision given in bulk, '
                '"label": its name}', "bulk")
    return found


def _check_layout(schema: dict, layout: list, prefix: str, in_rows: bool, problem) -> None:
    props = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in props:
            problem(f'"{name}" is required but the schema does not define it', prefix + name)
    seen: set[str] = set()
    for i, entry in enumerate(layout, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            problem(f"layout entry {i} must be an object naming a `field`", f"{prefix}layout[{i - 1}]")
            continue
        name = entry["field"]
        path = prefix + name
        if not NAME.fullmatch(name):
            problem(f'"{name}" is not a usable field name: letters, digits and _ only, not starting '
                    "with a digit (it names HTML inputs and process variables)", path)
            seen.add(name)
            continue
        if name not in props:
            problem(f'layout entry {i} names "{name}", which the schema does not define', path)
            continue
        if name in seen:
            problem(f'"{name}" appears twice in the layout', path)
            continue
        seen.add(name)
        for extra in sorted(entry.keys() - ENTRY_KEYS):
            problem(f'unknown layout key "{extra}" (known: {", ".join(sorted(ENTRY_KEYS))})', path)
        if "roles" in entry:
            for message in _roles_problems(entry["roles"], in_rows, name in schema.get("required", [])):
                problem(message, path)
        widget, prop = entry.get("widget"), props[name]
        if widget not in KINDS:
            problem(f'unknown widget "{widget}"; use one of {", ".join(KINDS)}', path)
            continue
        if in_rows and widget not in ROW_KINDS:
            problem(f'a repeating row cannot hold a "{widget}" field', path)
            continue
        if not isinstance(prop, dict) or not _nonblank(prop.get("title")):
            problem("the property needs a `title`: its Chinese label", path)
            if not isinstance(prop, dict):
                continue
        for key in [k for k in TEXT_KEYS if k in entry and not isinstance(entry[k], str)]:
            problem(f"`{key}` must be text", path)
        for message in KIND_CHECKS[widget](prop, entry):
            problem(message, path)
        if isinstance(prop.get("pattern"), str):
            try:
                re.compile(prop["pattern"])
            except re.error as exc:
                problem(f"`pattern` is not a valid regular expression: {exc}", path)
        if widget == "rows" and not _rows_problems(prop, entry):
            _check_layout(prop["items"], entry["columns"], path + "[].", True, problem)
    for name in props:
        if name not in seen:
            problem(f'"{name}" is not in the layout, so nobody could fill it in', prefix + name)


def _roles_problems(roles, in_rows: bool, required: bool) -> list[str]:
    if in_rows:
        return ["`roles` applies to a whole field, not to a column of a repeating row"]
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and ROLE.fullmatch(r) for r in roles):
        return ['`roles` must be a list of role codes, e.g. ["discipline_office"]']
    if required:
        return ["a field shown only to some roles cannot be required (the others could never submit the form)"]
    return []


def _schema_field(path) -> str | None:
    """`properties/risks/items/properties/level/type` -> `risks[].level`."""
    path, parts, i = list(path), [], 0
    while i < len(path) - 1:
        if path[i] == "properties":
            parts.append(str(path[i + 1]))
            i += 2
        else:
            i += 1
    return "[].".join(parts) or None


def _nonblank(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _type(prop: dict, *types: str) -> list[str]:
    if prop.get("type") not in types:
        return [f'widget needs schema type {" or ".join(repr(t) for t in types)}, not {prop.get("type")!r}']
    return []


def _bounds(prop: dict, places: int | None) -> list[str]:
    found = []
    low, high = prop.get("minimum"), prop.get("maximum")
    for name, value in (("minimum", low), ("maximum", high)):
        if places is not None and value is not None and _places(value) > places:
            found.append(f"`{name}` {value} has more than {places} decimals")
    if low is not None and high is not None and low > high:
        found.append(f"`minimum` {low} is above `maximum` {high}")
    return found


def _places(value) -> int:
    try:
        exponent = Decimal(str(value)).as_tuple().exponent
    except InvalidOperation:
        return 99
    return max(0, -exponent) if isinstance(exponent, int) else 99


def _number_problems(prop: dict, entry: dict) -> list[str]:
    found = _type(prop, "integer", "number") + _bounds(prop, None)
    decimals = entry.get("decimals")
    if decimals is not None:
        if prop.get("type") != "number":
            found.append("`decimals` only applies to schema type \"number\"")
        elif isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6:
            found.append("`decimals` must be a whole number from 0 to 6")
    if prop.get("type") == "number" and "multipleOf" in prop:
        found.append("use the layout's `decimals` instead of `multipleOf` (floats cannot check it exactly)")
    return found


def _option_problems(schema: dict, what: str) -> list[str]:
    options = schema.get("oneOf")
    if not options:
        return [f'{what} needs its options as "oneOf": [{{"const": value, "title": "中文", "title_en": "..."}}]']
    kind = {"string": str, "integer": int, "boolean": bool}.get(schema.get("type"))
    if kind is None:
        return [f'{what} needs schema type "string", "integer" or "boolean"']
    found, seen = [], []
    for i, opt in enumerate(options, 1):
        if not isinstance(opt, dict) or "const" not in opt or not _nonblank(opt.get("title")):
            found.append(f"option {i} needs a `const` value and a Chinese `title`")
        elif type(opt["const"]) is not kind:
            found.append(f"option {i}: {opt['const']!r} is not of type {schema.get('type')!r}")
        elif opt["const"] in seen:
            found.append(f"option {i}: {opt['const']!r} is listed twice")
        else:
            seen.append(opt["const"])
    return found


def _file_problems(prop: dict, entry: dict) -> list[str]:
    found = _type(prop, "array")
    if prop.get("items") != {"type": "string"}:
        found.append('file fields need "items": {"type": "string"} (attachment references)')
    accept = entry.get("accept")
    if accept is not None and (not isinstance(accept, list) or not accept or not all(
            isinstance(a, str) and (a.startswith(".") or "/" in a) for a in accept)):
        found.append('`accept` must list extensions (".pdf") or MIME types ("image/*")')
    size = entry.get("maxSize")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                             or not 0 < size <= DEFAULT_MAX_TOTAL):
        found.append(f"`maxSize` must be a number of bytes from 1 to {DEFAULT_MAX_TOTAL}")
    return found


def _rows_problems(prop: dict, entry: dict) -> list[str]:
    found = _type(prop, "array")
    items = prop.get("items")
    if not isinstance(items, dict) or items.get("type") != "object" or not items.get("properties"):
        found.append('repeating rows need "items": {"type": "object", "properties": {...}}')
    if not isinstance(entry.get("columns"), list) or not entry.get("columns"):
        found.append("repeating rows need `columns`: one layout entry per sub-field")
    return found


KIND_CHECKS = {
    "text": lambda p, e: _type(p, "string"),
    "textarea": lambda p, e: _type(p, "string"),
    "person": lambda p, e: _type(p, "string"),
    "department": lambda p, e: _type(p, "string"),
    "departments": lambda p, e: _type(p, "array") + ([] if (p.get("items") or {}).get("type") == "string"
                                                    else ['departments needs "items": {"type": "string"}']),
    "date": lambda p, e: _type(p, "string") + (
        ['date fields take "format": "date" or no format'] if p.get("format", "date") != "date" else []),
    "number": _number_problems,
    "money": lambda p, e: _type(p, "string") + _bounds(p, 2),
    "yesno": lambda p, e: _type(p, "boolean"),
    "select": lambda p, e: _type(p, "string") if e.get("optionsFrom") else _option_problems(p, "a select"),
    "multiselect": lambda p, e: _type(p, "array") + _option_problems(
        p["items"] if isinstance(p.get("items"), dict) else {}, "a multi-select's items"),
    "file": _file_problems,
    "rows": _rows_problems,
}
