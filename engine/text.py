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
