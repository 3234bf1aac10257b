"""Local stand-ins for the messaging vendors, speaking their documented request and response formats:
企业微信 (`/wecom/cgi-bin/gettoken`, `/wecom/cgi-bin/message/send`), 钉钉 (`/dingtalk/gettoken`,
`/dingtalk/topapi/message/corpconversation/asyncsend_v2`) and Aliyun SMS (`/sms/`, RPC `SendSms` with
its HMAC-SHA1 signature checked). Each records what it was asked and what a person received."""
from __future__ import annotations

import itertools
import json
import threading
import time

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from engine.messages.sms import aliyun_signature

CORP = {"corpid": "ww-hospital", "secret": "wecom-secret", "agentid": 1000002}
DING = {"appkey": "ding-key", "appsecret": "ding-secret", "agent_id": 88001}
SMS = {"access_key_id": "LTAI-test", "access_key_secret": "sms-secret", "sign_name": "某某医院",
       "template_code": "SMS_0001"}


class Vendors:
    def __init__(self):
        self.received: list[dict] = []     # what reached a person (after the vendors' own deduplication)
        self.requests: list[dict] = []     # every send request, duplicates included
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.known_users = {"wx-nurse", "wx-head", "wx-jijian", "dd-nurse"}
        self.per_user_limit: int | None = None      # WeCom answers 45009 beyond this many for one user
        self.sms_throttled = False
        self.sms_delay = 0.0
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._app()

    def expire_tokens(self) -> None:
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def _token(self) -> str:
        token = f"token-{next(self._counter)}"
        self.valid_tokens.add(token)
        self.tokens_issued += 1
        return token

    def _token_error(self):
        token = request.args.get("access_token")
        if token in self.valid_tokens:
            return None
        if token in self.expired_tokens:
            return jsonify(errcode=42001, errmsg="access_token expired")
        return jsonify(errcode=40014, errmsg="invalid access_token")

    def _app(self) -> Flask:
        app = Flask("vendors")

        @app.get("/wecom/cgi-bin/gettoken")
        def wecom_token():
            if (request.args.get("corpid"), request.args.get("corpsecret")) != (CORP["corpid"], CORP["secret"]):
                return jsonify(errcode=40001, errmsg="invalid credential")
            return jsonify(errcode=0, errmsg="ok", access_token=self._token(), expires_in=7200)

        @app.post("/wecom/cgi-bin/message/send")
        def wecom_send():
            refused = self._token_error()
            if refused is not None:
                return refused
            body = request.get_json()
            assert body["msgtype"] == "textcard" and body["agentid"] == CORP["agentid"]
            card = body["textcard"]
            assert card["title"] and card["description"] and card["url"].startswith("http")
            with self._lock:
                self.requests.append({"channel": "wecom", **body})
                to = body["touser"]
                if to not in self.known_users:
                    return jsonify(errcode=0, errmsg="ok", invaliduser=to, msgid="")
                if self.per_user_limit is not None and sum(
                        1 for r in self.received if r["channel"] == "wecom" and r["to"] == to) >= self.per_user_limit:
                    return jsonify(errcode=45009, errmsg="api freq out of limit")
                entry = {"channel": "wecom", "to": to, "title": card["title"], "body": card["description"],
                         "url": card["url"]}
                if not (body.get("enable_duplicate_check") and entry in self.received):
                    self.received.append(entry)
            return jsonify(errcode=0, errmsg="ok", invaliduser="", msgid=f"msg-{next(self._counter)}")

        @app.get("/dingtalk/gettoken")
        def ding_token():
            if (request.args.get("appkey"), request.args.get("appsecret")) != (DING["appkey"], DING["appsecret"]):
                return jsonify(errcode=40089, errmsg="不合法的corpid或corpsecret")
            return jsonify(errcode=0, errmsg="ok", access_token=self._token(), expires_in=7200)

        @app.post("/dingtalk/topapi/message/corpconversation/asyncsend_v2")
        def ding_send():
            refused = self._token_error()
            if refused is not None:
                return refused
            body = request.get_json()
            assert body["agent_id"] == DING["agent_id"] and body["msg"]["msgtype"] == "action_card"
            card = body["msg"]["action_card"]
            with self._lock:
                self.requests.append({"channel": "dingtalk", **body})
                self.received.append({"channel": "dingtalk", "to": body["userid_list"], "title": card["title"],
                                      "body": card["markdown"], "url": card["single_url"]})
            return jsonify(errcode=0, errmsg="ok", task_id=next(self._counter), request_id="r")

        @app.post("/sms/")
        def sms_send():
            form = request.form.to_dict()
            signature = form.pop("Signature", "")
            if form.get("AccessKeyId") != SMS["access_key_id"] or \
                    signature != aliyun_signature(form, SMS["access_key_secret"]):
                return jsonify(Code="SignatureDoesNotMatch", Message="Specified signature is not matched"), 400
            assert form["Action"] == "SendSms" and form["SignName"] == SMS["sign_name"]
            if self.sms_delay:
                time.sleep(self.sms_delay)
            if self.sms_throttled:
                return jsonify(Code="isv.BUSINESS_LIMIT_CONTROL", Message="触发分钟级流控Permits:1")
            params = json.loads(form["TemplateParam"])
            with self._lock:
                self.requests.append({"channel": "sms", **form})
                if not any(r.get("key") == form["OutId"] for r in self.received):
                    self.received.append({"channel": "sms", "to": form["PhoneNumbers"], "title": params["title"],
                                          "url": params["url"], "key": form["OutId"]})
            return jsonify(Code="OK", Message="OK", BizId=f"biz-{next(self._counter)}", RequestId="r")

        return app


class Running:
    """The vendors on a local port, in a thread."""

    def __init__(self, vendors: Vendors):
        self.vendors = vendors
        self.server = make_server("127.0.0.1", 0, vendors.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Running":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()

    def settings(self) -> dict:
        return {"wecom": {**CORP, "api": f"{self.url}/wecom/cgi-bin"},
                "dingtalk": {**DING, "api": f"{self.url}/dingtalk"},
                "sms": {"provider": "aliyun", **SMS, "api": f"{self.url}/sms/"}}
