"""What a channel is: `send(message)` delivers or raises `RetryLater` (the vendor is down or busy) or
`Undeliverable` (no address, a rejected recipient: retrying will not help). Access tokens of the
vendors' APIs are cached until shortly before they expire and fetched again when refused."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Protocol

# WeCom's and DingTalk's answers for an expired or invalid access token.
TOKEN_ERRORS = {40014, 42001}


@dataclass(frozen=True)
class Message:
    key: str              # the idempotency key
    to: str | None        # the person's address on the channel (WeCom user id, mobile number, mailbox…)
    title: str
    body: str
    url: str              # the deep link to the task page


class RetryLater(Exception):
    def __init__(self, error: str, *, after: timedelta | None = None, counts: bool = True):
        super().__init__(error)
        self.after, self.counts = after, counts


class Undeliverable(Exception):
    pass


class Channel(Protocol):
    name: str
    per_minute: int | None      # the vendor's limit of messages to one person a minute, if any

    def send(self, message: Message) -> None: ...


class TokenCache:
    """One access token, fetched by `fetch() -> (token, expires_in seconds)`, kept until 5 minutes
    before it expires; `refresh` after the vendor called it expired or invalid."""

    def __init__(self, fetch: Callable[[], tuple[str, float]], monotonic=time.monotonic):
        self._fetch, self._monotonic = fetch, monotonic
        self._token: str | None = None
        self._until = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._monotonic() >= self._until:
                token, expires_in = self._fetch()
                self._token, self._until = token, self._monotonic() + max(float(expires_in) - 300, 0)
            return self._token

    def refresh(self, stale: str) -> str:
        with self._lock:
            if self._token == stale:
                self._token = None
        return self.get()


def with_token(tokens: TokenCache, call: Callable[[str], dict]) -> dict:
    """`call(token)`, once more with a fresh token when the answer is a token error."""
    token = tokens.get()
    answer = call(token)
    if answer.get("errcode") in TOKEN_ERRORS:
        answer = call(tokens.refresh(token))
    return answer
