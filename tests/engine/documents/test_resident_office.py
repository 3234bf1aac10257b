"""The resident LibreOffice: PDFs come from one office kept running (not one started per document),
several threads converting at once each get their own document back, an office that dies is
replaced at the next conversion, and ending it leaves no process behind."""
from __future__ import annotations

import io
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader

from engine.documents import kinds, office, pdf, rendering, templates

pytestmark = pytest.mark.skipif(not pdf.available() or office.uno_python() is None,
                                reason="LibreOffice with python3-uno is not installed (make test installs it)")


def _report(text: str) -> bytes:
    kind = kinds.kind("月度工作进展报告")
    values = {"issuer": "清廉示范医院纪检监察室", "doc_number": "X纪报〔2026〕1号", "date_cn": "二〇二六年十二月七日",
              "business_key": "2026-11 内科", "department": "内科", "month": "2026-11",
              "progress": text, "problems": "无", "next_plan": "继续推进"}
    return rendering.render(templates.shipped(kind), values)


def _text(converted: bytes) -> str:
    return "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(converted)).pages)


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0]
    except FileNotFoundError:
        return None


def _gone(pid: int) -> bool:
    """The process no longer exists — not even as a zombie waiting to be reaped."""
    return _state(pid) is None


def _office() -> office.ResidentOffice:
    return office.resident(pdf.soffice(), pdf._env())


@pytest.fixture
def resident():
    office.shutdown()
    found = _office()
    found.starts = 0
    yield found
    office.shutdown()


def test_every_pdf_of_a_process_comes_from_one_office_started_once(resident):
    first = pdf.to_pdf(_report("第一份报告"))
    bridge, soffice = resident.pids()
    second = pdf.to_pdf(_report("第二份报告"))
    assert "第一份报告" in _text(first) and "第二份报告" in _text(second)
    assert resident.pids() == (bridge, soffice) and resident.starts == 1


def test_threads_converting_at_once_each_get_their_own_document(resident):
    words = [f"第{n}科室开展谈心谈话{n}人次" for n in range(1, 7)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        converted = list(pool.map(lambda w: pdf.to_pdf(_report(w)), words))
    for word, document in zip(words, converted):
        assert word in _text(document)
    assert resident.starts == 1


def test_an_office_that_died_is_replaced_at_the_next_conversion(resident):
    pdf.to_pdf(_report("之前"))
    _bridge, soffice = resident.pids()
    os.killpg(soffice, signal.SIGKILL)          # LibreOffice crashes (or is ended by someone)
    deadline = time.monotonic() + 30
    while _state(soffice) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "之后" in _text(pdf.to_pdf(_report("之后")))
    assert resident.starts == 2 and resident.pids()[1] != soffice


def test_a_document_libreoffice_cannot_open_is_refused_and_the_office_stays(resident):
    pdf.to_pdf(_report("正常"))
    pids = resident.pids()
    with pytest.raises(pdf.PdfUnavailable):
        pdf.to_pdf(b"PK\x03\x04 this is not a Word file")
    assert resident.pids() == pids
    assert "仍可使用" in _text(pdf.to_pdf(_report("仍可使用")))


def test_ending_the_office_leaves_no_process_behind(resident):
    pdf.to_pdf(_report("结束"))
    bridge, soffice = resident.pids()
    children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == soffice]
    office.shutdown()
    for pid in (bridge, soffice, *children):
        assert _gone(pid), pid
    assert resident.pids() == (None, None)


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().split(")")[-1].split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
