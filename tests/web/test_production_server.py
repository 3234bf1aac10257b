"""The production server (gunicorn with web/gunicorn_conf.py) keeps a client's connection open between
requests: a browser or API client served without a proxy does not connect anew for every request."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from engine import config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answer(sock) -> bytes:
    """One HTTP response read off the socket (headers and a Content-Length body), b"" if it was closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_two_requests_are_answered_on_one_connection(db, tmp_path):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=db.url.render_as_string(hide_password=False),
               QINGLIAN_INSTANCE_DIR=str(tmp_path), QINGLIAN_BIND=f"127.0.0.1:{port}", QINGLIAN_WORKERS="1",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "web/gunicorn_conf.py", "web.wsgi:app"],
                              env=env, cwd=config.PROJECT_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with sock:
            request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
            sock.sendall(request)
            first = _answer(sock)
            assert first.startswith(b"HTTP/1.1 200") and b"connection: close" not in first.lower()
            sock.sendall(request)
            assert _answer(sock).startswith(b"HTTP/1.1 200")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
