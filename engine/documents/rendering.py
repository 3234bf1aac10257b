"""Rendering a template (.docx with Jinja placeholders, docxtpl over python-docx) with one document's
values. Templates may come from an upload, so they run in Jinja's sandbox with every value escaped
for the XML it lands in; `checking` has refused anything but plain placeholders before.
"""
from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from datetime import date, datetime

from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment

from engine.errors import Invalid, Problem

_DIGITS = "〇一二三四五六七八九"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def chinese_numeral_date(day: date) -> str:
    """The 成文日期 as GB/T 9704 writes it: 二〇二六年十二月七日."""
    def small(n: int) -> str:
        if n < 10:
            return _DIGITS[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")
    return "".join(_DIGITS[int(d)] for d in str(day.year)) + f"年{small(day.month)}月{small(day.day)}日"


def arabic_date(day: date) -> str:
    """A date inside the text: 2026年12月7日."""
    return f"{day.year}年{day.month}月{day.day}日"


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, remembering the templates it compiled: docxtpl compiles each part of a document
    from its XML on every render, and the same template version gives the same XML."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._compiled: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def from_string(self, source, globals=None, template_class=None):    # noqa: A002 - Jinja's signature
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._lock:
            hit = self._compiled.get(source)
            if hit is not None:
                self._compiled.move_to_end(source)
                return hit
        compiled = super().from_string(source)
        with self._lock:
            self._compiled[source] = compiled
            while len(self._compiled) > 256:
                self._compiled.popitem(last=False)
        return compiled


_RENDERING = _Sandbox(autoescape=True, undefined=Undefined)


def environment(*, strict: bool = False) -> SandboxedEnvironment:
    """A fresh sandbox (for reading a template's placeholders); `render` uses one shared, caching one."""
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined if strict else Undefined)


def render(template: bytes, values: dict) -> bytes:
    """The template filled with `values` (text already formatted for reading), as .docx bytes."""
    doc = DocxTemplate(io.BytesIO(template))
    try:
        doc.render(values, jinja_env=_RENDERING, autoescape=True)
    except TemplateError as exc:
        raise Invalid("公文模板无法生成", [Problem(f"模板错误：{exc}", field="template", code="template_error")]) from exc
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def placeholders(template: bytes) -> set[str]:
    """The names the template's placeholders use."""
    return DocxTemplate(io.BytesIO(template)).get_undeclared_template_variables(environment())


def text_of(docx: bytes) -> str:
    """The text of a .docx (paragraphs, then tables, then footers), for previews and tests."""
    from docx import Document
    doc = Document(io.BytesIO(docx))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def paragraphs(docx: bytes) -> list[dict]:
    """The body's paragraphs and table rows with how they are set (centred title, right-aligned
    signature, red 版头), for an HTML preview that reads like the page."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    doc = Document(io.BytesIO(docx))
    out = []
    for p in doc.paragraphs:
        align = {WD_ALIGN_PARAGRAPH.CENTER: "center", WD_ALIGN_PARAGRAPH.RIGHT: "right"}.get(p.alignment, "")
        sizes = [r.font.size.pt for r in p.runs if r.font.size is not None]
        red = any(r.font.color is not None and r.font.color.rgb is not None and str(r.font.color.rgb) != "000000"
                  for r in p.runs)
        out.append({"text": p.text, "align": align, "title": bool(sizes) and max(sizes) > 16, "red": red,
                    "cells": None})
    for table in doc.tables:
        for row in table.rows:
            out.append({"text": "", "align": "", "title": False, "red": False, "cells": [c.text for c in row.cells]})
    return out


def display(value, options: dict | None = None) -> str:
    """A process value as a reader reads it: the option's title, 是/否, a date in Chinese, lists joined."""
    if value is None:
        return ""
    if options and isinstance(value, (str, int, bool)) and value in options:
        return options[value]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return arabic_date(value.date())
    if isinstance(value, date):
        return arabic_date(value)
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return arabic_date(date.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return "、".join(filter(None, (display(v, options) for v in value)))
    if isinstance(value, dict):
        return "，".join(filter(None, (display(v) for v in value.values())))
    return str(value)
