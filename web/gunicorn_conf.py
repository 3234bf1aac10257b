"""gunicorn settings for Qinglian; every value can be overridden on the command line.

    QINGLIAN_BIND      address:port to listen on (default 127.0.0.1:8000; behind a load balancer)
    QINGLIAN_WORKERS   worker processes (default 2 × cores + 1)
    QINGLIAN_THREADS   threads per worker (default 1: sync workers)

Metrics from all workers are summed through prometheus-client's multiprocess mode: the directory
(PROMETHEUS_MULTIPROC_DIR, a fresh temporary one by default) is emptied at start and a dead worker's
live gauges are dropped.
"""
import os
import shutil
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="qinglian-metrics-")

bind = os.environ.get("QINGLIAN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("QINGLIAN_WORKERS", 2 * (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("QINGLIAN_THREADS", "1"))
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
