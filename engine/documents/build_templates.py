"""Write the shipped templates, `documents/*.docx`, from `documents/kinds.json`:
`python -m engine.documents.build_templates [folder]`. The output is reproducible (fixed core
properties and zip timestamps), so a change of layout shows as a change of the committed files.

Layout after GB/T 9704-2012 (党政机关公文格式): A4, margins top 37 mm, bottom 35 mm, left 28 mm,
right 26 mm; the 版头 (issuing organ in red 方正小标宋简体, the 发文字号, a red line), the title in
方正小标宋简体 二号, the body in 仿宋_GB2312 三号 with 28-point lines, the 成文日期 in Chinese
numerals, page numbers "— 1 —" in 宋体 四号. The font names are those of the standard; where they
are not installed, LibreOffice substitutes the metric-compatible Noto CJK faces (`pdf.FONTS_CONF`).
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from engine.documents.kinds import DOCUMENTS_DIR, load_kinds

FANGSONG, XIAOBIAOSONG, HEITI, SONGTI = "仿宋_GB2312", "方正小标宋简体", "黑体", "宋体"
RED = RGBColor(0xE6, 0x00, 0x12)
BODY_PT, TITLE_PT, ISSUER_PT = 16, 22, 26          # 三号, 二号, the organ's mark
FIXED_TIME = datetime(2026, 1, 1)


def _font(run, name: str, size: float, *, bold=False, color=None) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), name)


def _paragraph(doc_or_cell, text: str, *, font=FANGSONG, size=BODY_PT, align=None, indent=True, bold=False,
               color=None, space_after=0):
    p = doc_or_cell.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(28 if size <= BODY_PT else size + 10)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(space_after)
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold=bold, color=color)
    return p


def _red_line(p) -> None:
    """The 版头's separating line: a red bottom border of the 发文字号 paragraph."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "12"), ("w:space", "8"), ("w:color", "E60012")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    p._p.get_or_add_pPr().append(borders)


def _field(run, instruction: str) -> None:
    for kind, text in (("begin", None), (None, instruction), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == instruction:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instruction} "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _page_numbers(section) -> None:
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("— "), SONGTI, 14)
    number = p.add_run()
    _font(number, SONGTI, 14)
    _field(number, "PAGE")
    _font(p.add_run(" —"), SONGTI, 14)


def _page(doc) -> None:
    s = doc.sections[0]
    s.page_width, s.page_height = Mm(210), Mm(297)
    s.top_margin, s.bottom_margin, s.left_margin, s.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    s.footer_distance = Mm(20)
    normal = doc.styles["Normal"]
    normal.font.name = FANGSONG
    normal.font.size = Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)
    _page_numbers(s)


def _table(doc, rows: list[list[str]]) -> None:
    table = doc.add_table(rows=0, cols=2)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Mm(42), Mm(114)
        for cell, text, font in ((cells[0], label, HEITI), (cells[1], value, FANGSONG)):
            cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
            _paragraph(cell, text, font=font, size=14, indent=False)


def build(kind: dict) -> bytes:
    """One kind's template as .docx bytes."""
    doc = Document()
    _page(doc)
    if not kind.get("plain"):
        _paragraph(doc, "{{ issuer }}", font=XIAOBIAOSONG, size=ISSUER_PT, align=WD_ALIGN_PARAGRAPH.CENTER,
                   indent=False, color=RED, space_after=12)
        number = _paragraph(doc, "{{ doc_number }}" if kind.get("number") else "", align=WD_ALIGN_PARAGRAPH.CENTER,
                            indent=False, space_after=16)
        _red_line(number)
    _paragraph(doc, "", indent=False)
    _paragraph(doc, kind["title"], font=XIAOBIAOSONG, size=TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False,
               space_after=16)
    if kind.get("plain") and kind.get("number"):
        _paragraph(doc, "{{ doc_number }}", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    if kind.get("addressee"):
        _paragraph(doc, kind["addressee"], indent=False)
    for text in kind.get("body", ()):
        _paragraph(doc, text)
    if kind.get("table"):
        _table(doc, kind["table"])
    for text in kind.get("closing", ()):
        _paragraph(doc, text, indent=False)
    _paragraph(doc, "", indent=False)
    _paragraph(doc, "{{ issuer }}", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _paragraph(doc, "{{ date_cn }}", align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    doc.core_properties.author = "清廉"
    doc.core_properties.title = kind["key"]
    doc.core_properties.created = doc.core_properties.modified = FIXED_TIME
    doc.core_properties.last_modified_by = "清廉"
    doc.core_properties.revision = 1
    out = io.BytesIO()
    doc.save(out)
    return _reproducible(out.getvalue())


def _reproducible(data: bytes) -> bytes:
    """The same bytes for the same content: fixed timestamps and order in the zip."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(name))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else DOCUMENTS_DIR
    for kind in load_kinds(folder).values():
        (folder / kind.file).write_bytes(build(kind.raw))
        print(f"{kind.file}: {kind.key}")
    return 0


if __name__ == "__main__":          # pragma: no cover
    raise SystemExit(main())
