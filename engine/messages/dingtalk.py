"""钉钉 work notifications: `gettoken` and `topapi/message/corpconversation/asyncsend_v2` (an
action card whose button opens the task), as documented at https://open.dingtalk.com/document/orgapp/
asynchronous-sending-of-enterprise-session-messages."""
from __future__ import annotations

from datetime import timedelta

import httpx

from engine.messages.channels import Message, RetryLater, TokenCache, Undeliverable, with_token
from engine.messages.wecom import _json

API = "https://oapi.dingtalk.com"
RATE_LIMITED = {90002, 90018, 88}


class DingTalk:
    name = "dingtalk"
    per_minute = None

    def __init__(self, appkey: str, appsecret: str, agent_id: int, *, api: str = API,
                 client: httpx.Client | None = None):
        self.api, self.agent_id = api.rstrip("/"), int(agent_id)
        self.http = client or httpx.Client(timeout=10)
        self.tokens = TokenCache(lambda: self._token(appkey, appsecret))

    @classmethod
    def from_settings(cls, conf: dict) -> "DingTalk":
        return cls(conf["appkey"], conf["appsecret"], conf["agent_id"], api=conf.get("api", API))

    def _token(self, appkey: str, appsecret: str) -> tuple[str, float]:
        answer = _json(self.http.get(f"{self.api}/gettoken", params={"appkey": appkey, "appsecret": appsecret}))
        if answer.get("errcode"):
            raise RetryLater(f"钉钉 gettoken: {answer.get('errcode')} {answer.get('errmsg')}")
        return answer["access_token"], answer.get("expires_in", 7200)

    def send(self, message: Message) -> None:
        if not message.to:
            raise Undeliverable("此人没有钉钉账号")
        payload = {"agent_id": self.agent_id, "userid_list": message.to,
                   "msg": {"msgtype": "action_card", "action_card": {
                       "title": message.title, "markdown": f"### {message.title}\n\n{message.body}",
                       "single_title": "办理", "single_url": message.url}}}
        answer = with_token(self.tokens, lambda token: _json(self.http.post(
            f"{self.api}/topapi/message/corpconversation/asyncsend_v2", params={"access_token": token},
            json=payload)))
        code = answer.get("errcode", -1)
        if code in RATE_LIMITED:
            raise RetryLater(f"钉钉限流: {code} {answer.get('errmsg')}", after=timedelta(minutes=1), counts=False)
        if code != 0:
            raise RetryLater(f"钉钉: {code} {answer.get('errmsg')}")
