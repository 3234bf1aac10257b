"""Text hygiene at the system's edges: which characters user text may carry in, and how user text is
written out into a spreadsheet so that it stays text. Cross-cutting, like `engine.errors`: every
room that reads input or writes a workbook uses these, so there is one rule and one place to fix it.
"""
from __future__ import annotations

import re

# C0 controls except tab, newline and carriage return, and DEL: never meaningful in a name, a phone
# number or a summary, and openpyxl refuses most of them (IllegalCharacterError, a 500).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bidirectional overrides/isolates and zero-width characters: invisible, they make a name read
# differently from what it is (a "Trojan Source" display), or two names look equal that are not.
HIDDEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u061c]")
# A spreadsheet program takes a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A value as a workbook cell: numbers, dates and None unchanged; text without control
    characters, and a text that a spreadsheet would take for a formula prefixed with an apostrophe
    so that it is shown, stored and copied as the text it is."""
    if not isinstance(value, str):
        return value
    text = CONTROL.sub("", value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def cells(values) -> list:
    """A row of values, each through `cell`."""
    return [cell(v) for v in values]


def hidden_characters(text: str) -> bool:
    """True when the text holds a bidi-override or zero-width character, or a control character."""
    return bool(HIDDEN.search(text) or CONTROL.search(text))


class Words(str):
    """The product's own words composed by the engine — a ledger stage, a clue's result, an option's
    note — as Chinese text that remembers how it was composed, so that a page can say it in the
    reader's language (the web's `words` filter) while an export, an official document or a JSON
    answer reads the Chinese it is.

    `msgid` is a Chinese message of the web's catalogue with `%(name)s` placeholders; each parameter
    is data (a `str` or number, shown as it is) or `Words` again (said in the reader's language too).
    `Words.joined` strings several together with a separator of the language (、 ；or a new line)."""

    msgid: str
    params: dict
    parts: tuple
    sep: str

    def __new__(cls, msgid: str, **params):
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params, self.parts, self.sep = msgid, params, (), ""
        return self

    @classmethod
    def joined(cls, parts, sep: str) -> "Words":
        """Several pieces (words or data) in a row: 、 lists, ；clauses, a new line items."""
        parts = tuple(parts)
        self = str.__new__(cls, sep.join(parts))
        self.msgid, self.params, self.parts, self.sep = "", {}, parts, sep
        return self

    def __reduce__(self):                 # copied or pickled: the Chinese text it reads as
        return (str, (str(self),))
