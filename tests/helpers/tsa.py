"""A real RFC 3161 time-stamp server for tests: a local HTTP server whose replies `openssl ts -reply`
makes and signs with a test key (a self-signed certificate for time-stamping, made here)."""
from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """
[ tsa ]
default_tsa = test_tsa
[ test_tsa ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _certificate(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Qinglian test TSA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "tsa.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(CONFIG.format(dir=folder))


@dataclass
class TestTSA:
    url: str
    folder: Path
    requests: list

    @property
    def certificate(self) -> Path:
        return self.folder / "tsa.pem"


def serve(*, status: int = 200, replay_first: bool = False):
    """Start a TSA; returns (TestTSA, stop). `status` other than 200: answer that HTTP status instead;
    `replay_first`: answer every request with the first reply (a replaying man in the middle)."""
    folder = Path(tempfile.mkdtemp(prefix="qinglian-tsa-"))
    _certificate(folder)
    lock = threading.Lock()
    received: list[bytes] = []
    replies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):          # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(body)
            if status != 200 or self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_response(status if status != 200 else 415)
                self.end_headers()
                return
            with lock:
                (folder / "q.tsq").write_bytes(body)
                subprocess.run(["openssl", "ts", "-reply", "-config", str(folder / "tsa.cnf"),
                                "-queryfile", str(folder / "q.tsq"), "-out", str(folder / "r.tsr")],
                               check=True, capture_output=True)
                reply = (folder / "r.tsr").read_bytes()
                replies.append(reply)
                if replay_first:
                    reply = replies[0]
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()

    return TestTSA(f"http://127.0.0.1:{server.server_address[1]}/tsa", folder, received), stop
