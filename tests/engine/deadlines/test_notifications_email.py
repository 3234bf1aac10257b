"""E-mail through SMTP, against a real SMTP server started by the test."""
from __future__ import annotations

import socket
from email.header import decode_header, make_header
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from engine.deadlines.notifications import Mailer


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_reminders_are_emailed_once_to_the_configured_mailbox(engine, deploy, clock, smtp):
    port, inbox = smtp
    engine.mailer = Mailer("127.0.0.1", port, "qinglian@hospital.test",
                           {"staff@neike": "neike@hospital.test", "department_head": "heads@hospital.test"})
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    clock.set(view.tasks[0].remind_at)
    engine.sweep_deadlines()
    engine.sweep_deadlines()
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]
    assert subjects == ["新待办：书面回复函询", "任务即将到期：书面回复函询"]    # the new task, then its reminder
    msg = inbox.messages[1]
    assert msg["To"] == "neike@hospital.test" and msg["From"] == "qinglian@hospital.test"
    assert "书面回复函询" in str(make_header(decode_header(msg["Subject"])))
    assert "到期" in msg.get_payload(decode=True).decode("utf-8")


def test_an_unreachable_smtp_server_keeps_the_mail_for_later(engine, deploy, clock, smtp):
    port, inbox = smtp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    engine.mailer = Mailer("127.0.0.1", dead_port, "q@h.test", {"staff@neike": "neike@hospital.test"})
    deploy("deadline_task.bpmn")
    view = engine.start("deadline_task", started_by="office", data={"department": "neike"})
    clock.set(view.tasks[0].remind_at)
    engine.sweep_deadlines()                       # the server is down: nothing sent, nothing lost
    engine.mailer = Mailer("127.0.0.1", port, "q@h.test", {"staff@neike": "neike@hospital.test"})
    engine.sweep_deadlines()
    assert len(inbox.messages) == 2                 # the new task's and the reminder, each once
