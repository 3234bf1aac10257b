"""`qinglian serve`: the web application with the timer scheduler inside (development server), or
gunicorn with a scheduler process (`--prod`).

The installed `qinglian` command is composed here, in the outer layer: the engine's command line
(`engine.cli.main`) plus this command, so that nothing in `engine/` imports Flask.
"""
from __future__ import annotations

import os
import subprocess
import sys

import click

from engine import bootstrap
from engine.cli.main import Context, main
from engine.config import PROJECT_ROOT


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not fire timers in this process.")
@click.option("--prod", is_flag=True, help="Serve with gunicorn (several workers) and a scheduler process.")
@click.option("--workers", default=None, type=int, help="gunicorn workers with --prod (default 2 × cores + 1).")
@click.option("--threads", default=1, show_default=True, type=int, help="Threads per worker with --prod.")
@click.pass_obj
def serve(obj: Context, host, port, no_scheduler, prod, workers, threads):
    """Serve the web application (development server), with the timer scheduler inside."""
    if prod:
        bootstrap.open_engine(obj.settings).db.dispose()     # refuse an unknown schema before forking
        _create_instance_keys(obj.settings)                  # once, before the workers start together
        serve_production(obj.settings, host, port, workers or 2 * (os.cpu_count() or 1) + 1, threads,
                         not no_scheduler)
    from engine.deadlines.scheduler import TimerScheduler
    from web import create_app
    app = create_app(obj.settings, engine=obj.engine)
    sched = None
    if not no_scheduler:
        sched = TimerScheduler(obj.engine, jobs=bootstrap.scheduled_jobs(obj.settings, obj.engine))
        sched.start_background()
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        if sched is not None:
            sched.stop()


def _create_instance_keys(settings) -> None:
    """The instance folder's keys that the settings do not give, created here rather than by the
    first of several workers (they would race for the files; `engine.keyfile` also survives that)."""
    from engine.clues.confidential import vault_from_settings
    from web import _secret_key
    vault_from_settings(settings)
    if not settings.secret_key:
        _secret_key(settings.instance_dir)


def serve_production(settings, host: str, port: int, workers: int, threads: int, scheduler: bool) -> None:
    """gunicorn with web/gunicorn_conf.py, plus one `qinglian scheduler` process unless told not to."""
    env = dict(os.environ, QINGLIAN_BIND=f"{host}:{port}", QINGLIAN_WORKERS=str(workers),
               QINGLIAN_THREADS=str(threads))
    sched = None
    if scheduler:
        sched = subprocess.Popen([sys.executable, "-m", "engine", "scheduler"], env=env)
    try:
        code = subprocess.call([sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "web" / "gunicorn_conf.py"),
                                "--chdir", str(PROJECT_ROOT), "web.wsgi:app"], env=env)
    finally:
        if sched is not None:
            sched.terminate()
            sched.wait(timeout=30)
    sys.exit(code)


if __name__ == "__main__":
    main()
