"""An uploaded template is untrusted input: each refusal says what is wrong, and where."""
from __future__ import annotations

import io
import zipfile

import pytest

from engine.documents import checking, kinds, templates
from engine.errors import Invalid

SHIPPED = templates.shipped(kinds.kind("受理告知书"))
PROVIDED = {"issuer", "doc_number", "date_cn", "business_key", "reporter_name", "reporter_contact", "received_on",
            "person_name", "person_department"}


def _rebuilt(docx: bytes, *, replace=None, add=None, drop=()) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name in drop:
                continue
            data = src.read(name)
            for part, (old, new) in (replace or {}).items():
                if name == part:
                    data = data.replace(old.encode(), new.encode())
            dst.writestr(name, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def _problems(filename: str, data: bytes) -> list:
    with pytest.raises(Invalid) as refused:
        checking.check(filename, data, PROVIDED)
    return refused.value.problems


def test_the_shipped_template_passes():
    checking.check("受理告知书.docx", SHIPPED, PROVIDED)


def test_an_unknown_placeholder_is_a_field_level_error_naming_it():
    bad = _rebuilt(SHIPPED, replace={"word/document.xml": ("{{ person_name }}", "{{ person_salary }}")})
    [problem] = _problems("a.docx", bad)
    assert problem.field == "placeholder:person_salary" and problem.code == "unknown_placeholder"
    assert "person_salary" in problem.message


def test_expressions_beyond_a_field_name_are_refused():
    bad = _rebuilt(SHIPPED, replace={"word/document.xml": ("{{ person_name }}", "{{ person_name.__class__ }}")})
    assert [p.code for p in _problems("a.docx", bad)] == ["template_expression"]
    call = _rebuilt(SHIPPED, replace={"word/document.xml": ("{{ person_name }}", "{{ range(10) }}")})
    assert "template_expression" in [p.code for p in _problems("a.docx", call)]


def test_broken_placeholder_syntax_is_refused():
    bad = _rebuilt(SHIPPED, replace={"word/document.xml": ("{{ person_name }}", "{{ person_name ")})
    assert [p.code for p in _problems("a.docx", bad)] == ["template_syntax"]


def test_macros_are_refused_by_name_and_by_content():
    assert [p.code for p in _problems("a.docm", SHIPPED)] == ["macro"]
    with_vba = _rebuilt(SHIPPED, add={"word/vbaProject.bin": b"\x00" * 64})
    assert "macro" in [p.code for p in _problems("a.docx", with_vba)]


def test_external_references_are_refused():
    rel = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
           'Target="http://example.com/track.png" TargetMode="External"/></Relationships>')
    bad = _rebuilt(SHIPPED, drop=("word/_rels/document.xml.rels",), add={"word/_rels/document.xml.rels": rel})
    assert [p.code for p in _problems("a.docx", bad)] == ["external_reference"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = _rebuilt(SHIPPED, add={"word/media/zeros.bin": b"\x00" * (30 * 1024 * 1024)})
    assert len(bomb) < checking.MAX_BYTES
    assert [p.code for p in _problems("a.docx", bomb)] == ["zip_bomb"]


def test_size_type_and_garbage_are_refused():
    assert [p.code for p in _problems("a.docx", b"x" * (checking.MAX_BYTES + 1))] == ["file_size"]
    assert [p.code for p in _problems("a.doc", SHIPPED)] == ["file_type"]
    assert [p.code for p in _problems("a.docx", b"not a zip")] == ["not_docx"]
    assert [p.code for p in _problems("a.docx", b"")] == ["file_empty"]
