"""The WSGI entry point for production serving:

    gunicorn -c web/gunicorn_conf.py web.wsgi:app        (or: qinglian serve --prod)

Each worker builds its own app (nothing is shared across a fork), logs JSON lines, and refuses to
start on a database schema this version does not know — gunicorn then stops with the message.
"""
from __future__ import annotations

import os
import sys

from engine import logging_setup
from engine.db import migrate
from engine.config import Settings

from . import create_app


def build():
    logging_setup.configure(os.environ.get("QINGLIAN_LOG_LEVEL", "INFO"),
                            json_lines=os.environ.get("QINGLIAN_LOG_FORMAT", "json") == "json")
    try:
        application = create_app(Settings.from_env())
    except migrate.SchemaMismatch as exc:
        print(f"qinglian: cannot start: {exc.message}", file=sys.stderr, flush=True)
        raise SystemExit(4) from None        # gunicorn's "app failed to load": the master stops
    # CSS, JS and fonts change only with a release: let browsers keep them an hour (ETags revalidate)
    application.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    return application


app = build()
