"""PDF through LibreOffice headless (Debian `libreoffice-writer-nogui` and `python3-uno`, installed by
`make run`).

Conversions go through the resident office (`office.py`: one `soffice` per process, started once,
kept, restarted if it dies), within a time limit. Where LibreOffice's UNO binding is missing, each
conversion runs its own `soffice --convert-to` with a fresh user profile in a temporary folder (two
conversions sharing a profile block each other) — the same PDF, seconds slower. The font names of GB/T 9704
(仿宋_GB2312, 方正小标宋简体…) are rarely installed on a server: `fonts.conf` maps them to the
metric-compatible Noto CJK faces (`fonts-noto-cjk`), so no glyph is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.documents import office
from engine.errors import Unavailable

TIMEOUT_SECONDS = 60
FONTS_CONF = Path(__file__).with_name("fonts.conf")


class PdfUnavailable(Unavailable):
    """LibreOffice is not installed or failed: the .docx is still there, the PDF is not."""
    code = "pdf_unavailable"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    return soffice() is not None


def _env(folder: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
    if folder is not None:
        env["HOME"] = str(folder)
    return env


def to_pdf(docx: bytes, *, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The .docx converted to PDF."""
    return convert([docx], timeout=timeout)[0]


def convert(documents: list[bytes], *, timeout: float = TIMEOUT_SECONDS) -> list[bytes]:
    """Several .docx converted to PDF, in order."""
    binary = soffice()
    if binary is None:
        raise PdfUnavailable("未安装 LibreOffice，无法生成 PDF")
    resident = office.resident(binary, _env())
    try:
        return [resident.convert(docx, timeout=timeout) for docx in documents]
    except office.OfficeUnavailable:
        return _one_off(binary, documents, timeout=timeout)
    except office.OfficeFailed as exc:
        raise PdfUnavailable("LibreOffice 未能生成 PDF") from exc
    except TimeoutError as exc:
        raise PdfUnavailable("生成 PDF 超时") from exc


def _one_off(binary: str, documents: list[bytes], *, timeout: float) -> list[bytes]:
    """Several .docx converted by one LibreOffice start of their own (no UNO binding here)."""
    with tempfile.TemporaryDirectory(prefix="qinglian-pdf-") as tmp:
        folder = Path(tmp)
        sources = []
        for i, docx in enumerate(documents):
            sources.append(folder / f"document-{i}.docx")
            sources[-1].write_bytes(docx)
        env = _env(folder)
        command = [binary, f"-env:UserInstallation=file://{folder / 'profile'}", "--headless", "--norestore",
                   "--nolockcheck", "--convert-to", "pdf", "--outdir", str(folder), *map(str, sources)]
        try:
            subprocess.run(command, cwd=folder, env=env, capture_output=True,
                           timeout=timeout * max(1, len(documents)), check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfUnavailable("生成 PDF 超时") from exc
        out = []
        for source in sources:
            target = source.with_suffix(".pdf")
            if not target.exists():
                raise PdfUnavailable("LibreOffice 未能生成 PDF")
            out.append(target.read_bytes())
        return out
