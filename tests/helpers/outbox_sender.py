"""A sender in a process of its own (`python -m tests.helpers.outbox_sender DB_URL SMS_API`), for the
test that kills one with SIGKILL in the middle of a batch."""
from __future__ import annotations

import sys
from datetime import timedelta

from engine.clock import SystemClock
from engine.db.transactions import create_db_engine
from engine.messages.sender import Sender
from engine.messages.sms import Sms
from tests.helpers.vendors import SMS

if __name__ == "__main__":
    db_url, api = sys.argv[1], sys.argv[2]
    sender = Sender({"sms": Sms.from_settings({**SMS, "api": api})}, "https://lianjie.hospital.test",
                    owner="doomed-sender", lease=timedelta(minutes=2), batch=20)
    sender.send_due(create_db_engine(db_url), SystemClock())
