"""Word files in tests: a template edited the way a process owner would in Word."""
from __future__ import annotations

import io
import zipfile


def with_text(docx: bytes, old: str, new: str) -> bytes:
    """`docx` with `old` replaced by `new` in its body text (word/document.xml)."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "word/document.xml":
                data = data.decode("utf-8").replace(old, new).encode("utf-8")
            dst.writestr(name, data)
    return out.getvalue()
