"""gunicorn settings for Qinglian; every value can be overridden on the command line.

    QINGLIAN_BIND      address:port to listen on (default 127.0.0.1:8000; behind a load balancer)
    QINGLIAN_WORKERS   worker processes (default 2 × cores + 1)
    QINGLIAN_THREADS   threads per worker (default 1: sync workers)

They are read by `engine.config.Settings`, like every other QINGLIAN_ variable.

Metrics from all workers are summed through prometheus-client's multiprocess mode: the directory
(PROMETHEUS_MULTIPROC_DIR, a fresh temporary one by default) is emptied at start and a dead worker's
live gauges are dropped.
"""
import os
import shutil
import sys
import tempfile

# Before anything imports prometheus-client's metrics: they are multiprocess only if this is set.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="qinglian-metrics-")

# gunicorn reads this file before it changes into the project: find engine/ beside web/.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
from engine.config import Settings, SettingsError  # noqa: E402

try:
    _settings = Settings.from_env()
except SettingsError as exc:
    sys.exit(f"qinglian: cannot start: {exc}")
bind = _settings.bind
workers = _settings.workers
threads = _settings.threads
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = None            # the app writes its own JSON access lines (route, status, duration, request id)
errorlog = "-"
proc_name = "qinglian"


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
