"""The resident LibreOffice's bridge: a small program run by a Python that has LibreOffice's UNO
binding (Debian `python3-uno`, i.e. `/usr/bin/python3`, not our virtualenv), started by
`engine.documents.office` and spoken to over its standard input and output — no network port.

It starts one `soffice --headless` listening on a private UNO pipe, and converts each .docx it is
sent to PDF through that running office (no start-up per document). Framing, all lengths 4-byte
big-endian:

    bridge → parent, once:  b"R" + length + JSON {"soffice_pid": …}     (ready)
    parent → bridge:        length + .docx bytes                          (one request)
    bridge → parent:        status + length + payload
                            status b"0": the PDF; b"1": this document failed (message, UTF-8);
                            b"2": LibreOffice is gone (message), the bridge exits

End of input (the parent closed the pipe or died) ends LibreOffice and the bridge. The bridge asks
the kernel for SIGTERM when its parent dies, so nothing outlives the process that started it.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
LENGTH = struct.Struct(">I")


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the closed pipe still ends us
        pass


def _read_exactly(stream, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _send(out, status: bytes, payload: bytes) -> None:
    out.write(status + LENGTH.pack(len(payload)) + payload)
    out.flush()


class Office:
    """One headless soffice on a private pipe, and the UNO desktop of it."""

    def __init__(self, soffice: str, folder: Path, timeout: float):
        import uno  # noqa: F401  (the binding of the Python running this bridge)

        self.folder = folder
        self.pipe = f"qinglian-{os.getpid()}-{os.urandom(6).hex()}"
        env = dict(os.environ, HOME=str(folder))
        command = [soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                   "--invisible", "--nocrashreport", "--nodefault", "--nologo", "--nofirststartwizard",
                   "--norestore", "--nolockcheck", f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext"]
        # Its own process group, so that ending it ends oosplash and soffice.bin together.
        self.process = subprocess.Popen(command, env=env, cwd=folder, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self.desktop = None
        try:
            self.desktop = self._connect(timeout)
        except BaseException:
            self.close()
            raise

    def _connect(self, timeout: float):
        import uno
        from com.sun.star.connection import NoConnectException

        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + timeout
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
            except NoConnectException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("LibreOffice did not start") from None
                time.sleep(0.1)

    def alive(self) -> bool:
        return self.process.poll() is None

    def convert(self, docx: bytes, n: int) -> bytes:
        import uno
        from com.sun.star.beans import PropertyValue

        def prop(name, value):
            p = PropertyValue()
            p.Name, p.Value = name, value
            return p

        source, target = self.folder / f"in-{n}.docx", self.folder / f"out-{n}.pdf"
        source.write_bytes(docx)
        try:
            doc = self.desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(source)), "_blank", 0,
                                                    (prop("Hidden", True), prop("ReadOnly", True)))
            if doc is None:
                raise ValueError("LibreOffice could not open the document")
            try:
                doc.storeToURL(uno.systemPathToFileUrl(str(target)), (prop("FilterName", "writer_pdf_Export"),))
            finally:
                doc.close(True)
            return target.read_bytes()
        finally:
            source.unlink(missing_ok=True)
            target.unlink(missing_ok=True)

    def close(self) -> None:
        if self.alive() and self.desktop is not None:
            try:
                self.desktop.terminate()
            except Exception:  # noqa: BLE001 — already going; the signals below finish it
                pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    pass
            try:
                self.process.wait(timeout=5)
                break
            except subprocess.TimeoutExpired:
                continue


def main() -> int:
    _die_with_parent()
    soffice, timeout = sys.argv[1], float(sys.argv[2])
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing else may write into the answer stream
    stdin = sys.stdin.buffer
    folder = Path(tempfile.mkdtemp(prefix="qinglian-office-"))
    office = None

    def stop(signum, frame):  # the parent died or ended us: take LibreOffice along
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        try:
            office = Office(soffice, folder, timeout)
        except Exception as exc:  # noqa: BLE001 — no office: said once, the parent falls back
            _send(out, b"2", f"LibreOffice did not start: {exc}".encode()[:2000])
            return 1
        ready = json.dumps({"soffice_pid": office.process.pid}).encode()
        _send(out, b"R", ready)
        n = 0
        while True:
            header = _read_exactly(stdin, LENGTH.size)
            if header is None:
                return 0
            docx = _read_exactly(stdin, LENGTH.unpack(header)[0])
            if docx is None:
                return 0
            n += 1
            if not office.alive():
                _send(out, b"2", b"LibreOffice has ended")
                return 1
            try:
                _send(out, b"0", office.convert(docx, n))
            except Exception as exc:  # noqa: BLE001 — said to the parent, which decides
                if not office.alive() or type(exc).__name__ in ("DisposedException", "RuntimeException"):
                    _send(out, b"2", f"LibreOffice has ended: {exc}".encode())
                    return 1
                _send(out, b"1", str(exc).encode()[:2000])
    except BrokenPipeError:
        return 0
    finally:
        if office is not None:
            office.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
