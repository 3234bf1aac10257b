"""消息: messages to the phones and mailboxes staff already use — 企业微信 (WeCom), 钉钉 (DingTalk),
SMS and e-mail — through an outbox in the database (`outbox.py`), sent by the scheduler (`sender.py`)."""
