"""企业微信 application messages: `gettoken` and `message/send` (textcard), as documented at
https://developer.work.weixin.qq.com/document/path/90236 and /90313 (error codes).

WeCom drops what exceeds 30 messages a minute to one member from one application, so the sender
queues beyond `per_minute` (`engine.messages.sender`); 45009 ("接口调用超过限制") is waited out too.
Duplicate check on: a message resent after a sender died is not shown twice."""
from __future__ import annotations

from datetime import timedelta

import httpx

from engine.messages.channels import Message, RetryLater, TokenCache, Undeliverable, with_token

API = "https://qyapi.weixin.qq.com/cgi-bin"
RATE_LIMITED = {45009, 45033, 45047}


class WeCom:
    name = "wecom"

    def __init__(self, corpid: str, secret: str, agentid: int, *, api: str = API, per_minute: int = 30,
                 client: httpx.Client | None = None):
        self.api, self.agentid, self.per_minute = api.rstrip("/"), int(agentid), int(per_minute)
        self.http = client or httpx.Client(timeout=10)
        self.tokens = TokenCache(lambda: self._token(corpid, secret))

    @classmethod
    def from_settings(cls, conf: dict) -> "WeCom":
        return cls(conf["corpid"], conf["secret"], conf["agentid"], api=conf.get("api", API),
                   per_minute=conf.get("per_minute", 30))

    def _token(self, corpid: str, secret: str) -> tuple[str, float]:
        answer = _json(self.http.get(f"{self.api}/gettoken", params={"corpid": corpid, "corpsecret": secret}))
        if answer.get("errcode"):
            raise RetryLater(f"企业微信 gettoken: {answer.get('errcode')} {answer.get('errmsg')}")
        return answer["access_token"], answer.get("expires_in", 7200)

    def send(self, message: Message) -> None:
        if not message.to:
            raise Undeliverable("此人没有企业微信账号")
        payload = {"touser": message.to, "msgtype": "textcard", "agentid": self.agentid,
                   "textcard": {"title": message.title, "description": message.body, "url": message.url,
                                "btntxt": "办理"},
                   "enable_duplicate_check": 1, "duplicate_check_interval": 14400}
        answer = with_token(self.tokens, lambda token: _json(self.http.post(
            f"{self.api}/message/send", params={"access_token": token}, json=payload)))
        code = answer.get("errcode", -1)
        if code in RATE_LIMITED:
            raise RetryLater(f"企业微信限流: {code} {answer.get('errmsg')}", after=timedelta(minutes=1), counts=False)
        if code != 0:
            raise RetryLater(f"企业微信: {code} {answer.get('errmsg')}")
        if answer.get("invaliduser"):
            raise Undeliverable(f"企业微信不认识此账号: {answer['invaliduser']}")


def _json(response: httpx.Response) -> dict:
    if response.status_code >= 500:
        raise RetryLater(f"HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise RetryLater(f"HTTP {response.status_code}: not JSON") from None
