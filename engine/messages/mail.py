"""E-mail to a person's own mailbox, through the SMTP server of the notifications (QINGLIAN_SMTP_*)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from engine.messages.channels import Message, RetryLater, Undeliverable


class Email:
    name = "email"
    per_minute = None

    def __init__(self, host: str, port: int, sender: str):
        self.host, self.port, self.sender = host, port, sender

    def send(self, message: Message) -> None:
        if not message.to:
            raise Undeliverable("此人没有电子邮箱")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, message.to, message.title
        msg["Message-ID"] = f"<{message.key}@qinglian>"
        msg.set_content(f"{message.body}\n\n{message.url}")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Undeliverable(f"邮箱被拒收: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryLater(f"SMTP: {exc}") from None
