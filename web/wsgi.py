"""The WSGI entry point for production serving:

    gunicorn -c web/gunicorn_conf.py web.wsgi:app        (or: qinglian serve --prod)

Each worker builds its own app (nothing is shared across a fork), logs JSON lines, and refuses to
start on a database schema this version does not know — gunicorn then stops with the message.
"""
from __future__ import annotations

import sys

from engine import logging_setup
from engine.config import Settings, SettingsError
from engine.errors import EngineError

from . import create_app


def build():
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"qinglian: cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(4) from None
    logging_setup.configure(settings.log_level, json_lines=settings.log_json)
    try:
        application = create_app(settings)
    except EngineError as exc:               # e.g. a database schema this version does not know
        print(f"qinglian: cannot start: {exc.message}", file=sys.stderr, flush=True)
        raise SystemExit(4) from None        # gunicorn's "app failed to load": the master stops
    # CSS, JS and fonts change only with a release: let browsers keep them an hour (ETags revalidate)
    application.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    return application


app = build()
