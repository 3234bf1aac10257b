"""A form definition's findings (`engine.forms.check_definition`), said in the reader's language.

The engine reports in English (a deploy's `bad_form`, the command line, the API); the form editor says
each finding in the person's language, located as the engine located it: the file, the line of a JSON
syntax error, the field (`risks[].evidence` is the column `evidence` of the rows field `risks`). What the
engine quotes (keys, widget names, JSON Schema's or the regex compiler's own words) is kept. A finding
no pattern knows still gets a sentence in the reader's language, the engine's text after it.
"""
from __future__ import annotations

import re

from flask_babel import gettext as _

from engine.errors import Problem


def _patterns():
    """(regex matching the engine's whole message, how to say it) — tried in order."""
    return (
        (r"not valid JSON: (?P<detail>.*?) \(column (?P<col>\d+)\)",
         lambda m: _("不是有效的 JSON：%(detail)s（第 %(col)s 列）", **m)),
        (r"not valid JSON: (?P<detail>.*)", lambda m: _("不是有效的 JSON：%(detail)s", **m)),
        (r"a form definition must be a JSON object", lambda m: _("表单定义必须是一个 JSON 对象")),
        (r'unknown key "(?P<name>.*)" \(known: (?P<known>.*)\)',
         lambda m: _("未知的键「%(name)s」（可用：%(known)s）", **m)),
        (r"the form needs a Chinese `title`", lambda m: _("表单需要中文标题（title）")),
        (r"`(?P<name>\w+)` must be text", lambda m: _("「%(name)s」必须是文本", **m)),
        (r"the form needs a `schema` object.*", lambda m: _("表单需要 schema 对象（JSON Schema）")),
        (r"the schema is not valid JSON Schema at (?P<at>\S*): (?P<detail>.*)",
         lambda m: _("schema 在 %(at)s 处不是有效的 JSON Schema：%(detail)s", **m)),
        (r"the schema must be .*", lambda m: _('schema 必须是 {"type": "object", "properties": {...}}')),
        (r"the form needs a `layout` list.*", lambda m: _("表单需要 layout 列表，每个字段一项")),
        (r'"(?P<name>.*)" is required but the schema does not define it',
         lambda m: _("「%(name)s」列为必填，但 schema 中没有定义它", **m)),
        (r"layout entry (?P<n>\d+) must be an object naming a `field`",
         lambda m: _("layout 第 %(n)s 项必须是写明 field 的对象", **m)),
        (r'"(?P<name>.*)" is not a usable field name.*',
         lambda m: _("「%(name)s」不能作字段标识：只能用字母、数字和下划线，且不以数字开头", **m)),
        (r'layout entry (?P<n>\d+) names "(?P<name>.*)", which the schema does not define',
         lambda m: _("layout 第 %(n)s 项「%(name)s」在 schema 中没有定义", **m)),
        (r'"(?P<name>.*)" appears twice in the layout', lambda m: _("「%(name)s」在 layout 中出现了两次", **m)),
        (r'unknown layout key "(?P<name>.*)" \(known: (?P<known>.*)\)',
         lambda m: _("未知的 layout 键「%(name)s」（可用：%(known)s）", **m)),
        (r'unknown widget "(?P<name>.*)"; use one of (?P<known>.*)',
         lambda m: _("未知的字段类型「%(name)s」；可用：%(known)s", **m)),
        (r'a repeating row cannot hold a "(?P<name>.*)" field',
         lambda m: _("多行表格的列不能是「%(name)s」类型：附件和多行表格不能放在行内", **m)),
        (r"the property needs a `title`: its Chinese label", lambda m: _("字段需要标题（title）：它的中文名称")),
        (r"`pattern` is not a valid regular expression: (?P<detail>.*)",
         lambda m: _("pattern 不是有效的正则表达式：%(detail)s", **m)),
        (r'"(?P<name>.*)" is not in the layout, so nobody could fill it in',
         lambda m: _("「%(name)s」不在 layout 中，没有人能填写它", **m)),
        (r"widget needs schema type (?P<want>.*), not (?P<got>.*)",
         lambda m: _("这种字段的 schema type 应为 %(want)s，而不是 %(got)s", **m)),
        (r'repeating rows need "items": .*',
         lambda m: _('多行表格需要 "items": {"type": "object", "properties": {...}}：每列的定义')),
        (r"repeating rows need `columns`: .*", lambda m: _("多行表格需要 columns：每列一项，至少一列")),
        (r'(?P<what>.*) needs its options as "oneOf": .*', lambda m: _('选项应写在 "oneOf" 中：每项有 const 值和中文 title')),
        (r"option (?P<n>\d+) needs a `const` value and a Chinese `title`",
         lambda m: _("选项 %(n)s 需要 const 值和中文 title", **m)),
        (r"option (?P<n>\d+): (?P<value>.*) is listed twice", lambda m: _("选项 %(n)s：%(value)s 重复了", **m)),
    )


def _what(message: str) -> str:
    for pattern, build in _patterns():
        m = re.fullmatch(pattern, message, re.S)
        if m:
            return build(m.groupdict())
    return _("表单定义有问题（%(detail)s）", detail=message)


def _where(p: Problem) -> str:
    parts = [_("%(file)s 第 %(n)s 行", file=p.file or "", n=p.line) if p.line else p.file or ""]
    if p.field:
        column = re.fullmatch(r"(?P<rows>\w+)\[\]\.(?P<column>\w+)", p.field)
        parts.append(_("多行表格 %(rows)s 的列 %(column)s", **column.groupdict()) if column
                     else _("字段 %(field)s", field=p.field))
    return " ".join(x for x in parts if x)


def say(p: Problem) -> str:
    """One finding of a form definition, located, in the reader's language."""
    where = _where(p)
    return _("%(where)s：%(what)s", where=where, what=_what(p.message)) if where else _what(p.message)
