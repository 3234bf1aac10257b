"""Turning what one field received (an HTML post's text, or a JSON value) into the value stored.

Each cleaner returns the clean value or raises FieldError with a specific message in Simplified
Chinese. HTML posts give text; the REST API may give typed JSON values, accepted where unambiguous.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from .definition import Field

DEFAULT_LENGTH = {"text": 500, "textarea": 10000}
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")   # PostgreSQL JSON cannot even hold \x00
MAX_DIGITS = 15                                              # so a decimal survives a float exactly


class FieldError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return all(blank(v) for v in value)
    return False


def required_message(field: Field) -> str:
    if field.kind in ("select", "multiselect", "yesno", "person", "department", "departments"):
        return f"请选择“{field.title}”"
    if field.kind == "file":
        return f"请上传“{field.title}”"
    return f"请填写“{field.title}”"


def clean(field: Field, value, lookups):
    """The stored value of a scalar or multi-select field: None (or []) when left blank and optional."""
    if blank(value):
        if field.required:
            raise FieldError(required_message(field))
        return [] if field.kind in ("multiselect", "departments") else None
    return CLEANERS[field.kind](field, value, lookups)


def token(const) -> str:
    """How an option value travels in an HTML form."""
    if isinstance(const, bool):
        return "true" if const else "false"
    return str(const)


def _text_of(field: Field, value) -> str:
    if not isinstance(value, str):
        raise FieldError(f"“{field.title}”应为文字")
    return value.strip()


def _text(field: Field, value, lookups) -> str:
    text = _text_of(field, value).replace("\r\n", "\n").replace("\r", "\n")
    title, schema = field.title, field.schema
    if CONTROL.search(text):
        raise FieldError(f"“{title}”含有不可见的控制字符，请删除后再提交")
    limit = schema.get("maxLength", DEFAULT_LENGTH[field.kind])
    if len(text) > limit:
        raise FieldError(f"“{title}”最多 {limit} 个字，现有 {len(text)} 个字")
    if len(text) < schema.get("minLength", 0):
        raise FieldError(f"“{title}”至少 {schema['minLength']} 个字")
    if "pattern" in schema and not re.search(schema["pattern"], text):
        raise FieldError(f"“{title}”的格式不正确")
    return text


def _decimal(field: Field, value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(f"“{field.title}”应为数字")
    text = repr(value) if isinstance(value, float) else str(value)
    text = unicodedata.normalize("NFKC", text).strip().replace(",", "")   # full-width digits, 1,000
    if not NUMBER.fullmatch(text):
        raise FieldError(f"“{field.title}”应为数字，如 12 或 12.5")
    return Decimal(text) + 0            # -0 becomes 0


def _check_length(field: Field, number: Decimal) -> None:
    if len(number.normalize().as_tuple().digits) > MAX_DIGITS:
        raise FieldError(f"“{field.title}”的数字过长")


def _places(number: Decimal) -> int:
    return max(0, -number.normalize().as_tuple().exponent)


def _check_range(field: Field, number: Decimal, low) -> None:
    high = field.schema.get("maximum")
    if low is not None and number < Decimal(str(low)):
        raise FieldError(f"“{field.title}”不能小于 {low}")
    if high is not None and number > Decimal(str(high)):
        raise FieldError(f"“{field.title}”不能大于 {high}")


def _number(field: Field, value, lookups) -> int | float:
    number = _decimal(field, value)
    if field.schema["type"] == "integer":
        if _places(number):
            raise FieldError(f"“{field.title}”应为整数")
    elif _places(number) > field.entry.get("decimals", 2):
        raise FieldError(f"“{field.title}”最多 {field.entry.get('decimals', 2)} 位小数")
    _check_length(field, number)
    _check_range(field, number, field.schema.get("minimum"))
    return int(number) if field.schema["type"] == "integer" else float(number)


def _money(field: Field, value, lookups) -> str:
    number = _decimal(field, value)
    if _places(number) > 2:
        raise FieldError("金额最多两位小数")
    _check_length(field, number)
    _check_range(field, number, field.schema.get("minimum", 0))
    return str(number.quantize(Decimal("0.01")))


def _date(field: Field, value, lookups) -> str:
    text = unicodedata.normalize("NFKC", _text_of(field, value))
    if not DATE.fullmatch(text):
        raise FieldError("日期格式应为 2026-09-28")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FieldError(f"{text} 不是有效的日期") from None


def _option(field: Field, value):
    for option in field.options:
        const = option["const"]
        if (type(value) is type(const) and value == const) or (isinstance(value, str) and value == token(const)):
            return const
    names = "/".join(o["title"] for o in field.options)
    raise FieldError(f"“{field.title}”须为 {names} 之一")


def _multiselect(field: Field, value, lookups) -> list:
    if not isinstance(value, list):
        raise FieldError(f"“{field.title}”应为列表")
    chosen = []
    for item in value:
        if not blank(item) and (const := _option(field, item)) not in chosen:
            chosen.append(const)
    low, high = field.schema.get("minItems", 0), field.schema.get("maxItems")
    if len(chosen) < low:
        raise FieldError(f"“{field.title}”至少选择 {low} 项")
    if high is not None and len(chosen) > high:
        raise FieldError(f"“{field.title}”最多选择 {high} 项")
    return chosen


def _departments(field: Field, value, lookups) -> list:
    """A multi-department picker (e.g. the departments in a campaign's scope): codes, no repeats."""
    if not isinstance(value, list):
        raise FieldError(f"“{field.title}”应为列表")
    chosen = []
    for item in value:
        if blank(item):
            continue
        code = _text_of(field, item)
        if not lookups.is_department(code):
            raise FieldError(f"“{field.title}”：找不到科室“{code}”")
        if code not in chosen:
            chosen.append(code)
    low, high = field.schema.get("minItems", 0), field.schema.get("maxItems")
    if len(chosen) < low:
        raise FieldError(f"“{field.title}”至少选择 {low} 个科室")
    if high is not None and len(chosen) > high:
        raise FieldError(f"“{field.title}”最多选择 {high} 个科室")
    return chosen


def _yesno(field: Field, value, lookups) -> bool:
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    raise FieldError(f"“{field.title}”请选择“是”或“否”")


def _person(field: Field, value, lookups) -> str:
    username = _text_of(field, value)
    if not lookups.is_person(username):
        raise FieldError(f"“{field.title}”：找不到人员“{username}”")
    return username


def _department(field: Field, value, lookups) -> str:
    code = _text_of(field, value)
    if not lookups.is_department(code):
        raise FieldError(f"“{field.title}”：找不到科室“{code}”")
    return code


CLEANERS = {
    "text": _text, "textarea": _text, "number": _number, "money": _money, "date": _date,
    "select": lambda f, v, lookups: _option(f, v), "multiselect": _multiselect, "yesno": _yesno,
    "person": _person, "department": _department, "departments": _departments,
}
