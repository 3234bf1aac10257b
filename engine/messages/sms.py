"""SMS through a provider (`SmsProvider`); one implementation: Aliyun 短信服务 `SendSms`
(dysmsapi 2017-05-25, RPC style with signature version 1.0, HMAC-SHA1), as documented at
https://help.aliyun.com/document_detail/419273.html. The idempotency key travels as `OutId`."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Protocol
from urllib.parse import quote

import httpx

from engine.messages.channels import Message, RetryLater, Undeliverable

API = "https://dysmsapi.aliyuncs.com/"
THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"}


class SmsProvider(Protocol):
    def send(self, phone: str, params: dict, key: str) -> None: ...


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict, secret: str, method: str = "POST") -> str:
    """Aliyun's RPC signature: HMAC-SHA1 of METHOD&%2F&encoded(sorted, encoded query), key secret + '&'."""
    query = "&".join(f"{_enc(k)}={_enc(str(v))}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_enc('/')}&{_enc(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunSms:
    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, template_code: str, *,
                 api: str = API, client: httpx.Client | None = None, clock=None):
        self.key_id, self.secret = access_key_id, access_key_secret
        self.sign_name, self.template_code, self.api = sign_name, template_code, api
        self.http = client or httpx.Client(timeout=10)
        self.clock = clock

    def send(self, phone: str, params: dict, key: str) -> None:
        now = self.clock.now() if self.clock else datetime.now(timezone.utc)
        query = {"AccessKeyId": self.key_id, "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
                 "SignatureMethod": "HMAC-SHA1", "SignatureNonce": secrets.token_hex(16),
                 "SignatureVersion": "1.0", "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "Version": "2017-05-25", "PhoneNumbers": phone, "SignName": self.sign_name,
                 "TemplateCode": self.template_code, "TemplateParam": json.dumps(params, ensure_ascii=False),
                 "OutId": key}
        query["Signature"] = aliyun_signature(query, self.secret)
        response = self.http.post(self.api, data=query)
        if response.status_code >= 500:
            raise RetryLater(f"短信 HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise RetryLater(f"短信 HTTP {response.status_code}: not JSON") from None
        code = answer.get("Code")
        if code == "OK":
            return
        if code in THROTTLED:
            raise RetryLater(f"短信限流: {code}", after=timedelta(minutes=1), counts=False)
        if code in ("isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT"):
            raise Undeliverable(f"短信: {code} {answer.get('Message')}")
        raise RetryLater(f"短信: {code} {answer.get('Message')}")


class Sms:
    """The SMS channel: a short template message — the title and the link — through a provider."""

    name = "sms"
    per_minute = None

    def __init__(self, provider: SmsProvider):
        self.provider = provider

    @classmethod
    def from_settings(cls, conf: dict, clock=None) -> "Sms":
        if conf.get("provider", "aliyun") != "aliyun":
            raise ValueError("QINGLIAN_SMS: provider must be aliyun")
        return cls(AliyunSms(conf["access_key_id"], conf["access_key_secret"], conf["sign_name"],
                             conf["template_code"], api=conf.get("api", API), clock=clock))

    def send(self, message: Message) -> None:
        if not message.to:
            raise Undeliverable("此人没有手机号")
        self.provider.send(message.to, {"title": message.title[:20], "url": message.url}, message.key)
