"""Each channel against a local server speaking the vendor's documented format: tokens fetched once
and refreshed when the vendor calls them expired, rate-limit answers waited out, a rejected recipient
given up."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.messages.channels import Message, RetryLater, Undeliverable
from engine.messages.dingtalk import DingTalk
from engine.messages.sms import Sms
from engine.messages.wecom import WeCom


def _msg(to, key="k1"):
    return Message(key, to, "任务即将到期：书面回复函询", "请及时办理。", "https://lianjie.test/tasks/t1")


def test_a_wecom_message_is_a_text_card_linking_to_the_task_and_the_token_is_fetched_once(vendors):
    wecom = WeCom.from_settings(vendors.settings()["wecom"])
    wecom.send(_msg("wx-nurse", "a"))
    wecom.send(Message("b", "wx-head", "任务已逾期", "请督促办理。", "https://lianjie.test/tasks/t2"))
    assert vendors.vendors.tokens_issued == 1
    assert [(r["to"], r["url"]) for r in vendors.vendors.received] == [
        ("wx-nurse", "https://lianjie.test/tasks/t1"), ("wx-head", "https://lianjie.test/tasks/t2")]


def test_an_expired_wecom_token_is_refreshed_and_the_message_still_goes(vendors):
    wecom = WeCom.from_settings(vendors.settings()["wecom"])
    wecom.send(_msg("wx-nurse", "a"))
    vendors.vendors.expire_tokens()                       # errcode 42001 on the next send
    wecom.send(Message("b", "wx-nurse", "第二条", "内容", "https://lianjie.test/tasks/t3"))
    assert vendors.vendors.tokens_issued == 2
    assert len(vendors.vendors.received) == 2


def test_wecom_rate_limit_answer_is_a_wait_not_a_failure(vendors):
    vendors.vendors.per_user_limit = 1
    wecom = WeCom.from_settings(vendors.settings()["wecom"])
    wecom.send(_msg("wx-nurse", "a"))
    with pytest.raises(RetryLater) as refused:
        wecom.send(Message("b", "wx-nurse", "第二条", "内容", "https://lianjie.test/tasks/t3"))
    assert refused.value.after == timedelta(minutes=1) and refused.value.counts is False


def test_a_person_wecom_does_not_know_is_undeliverable(vendors):
    wecom = WeCom.from_settings(vendors.settings()["wecom"])
    with pytest.raises(Undeliverable):
        wecom.send(_msg("wx-somebody-who-left"))


def test_a_dingtalk_work_notification_is_an_action_card_and_survives_an_invalid_token(vendors):
    ding = DingTalk.from_settings(vendors.settings()["dingtalk"])
    ding.send(_msg("dd-nurse"))
    vendors.vendors.valid_tokens.clear()                  # errcode 40014: not a token it issued
    ding.send(Message("b", "dd-nurse", "第二条", "内容", "https://lianjie.test/tasks/t3"))
    assert vendors.vendors.tokens_issued == 2
    assert [r["url"] for r in vendors.vendors.received] == ["https://lianjie.test/tasks/t1",
                                                             "https://lianjie.test/tasks/t3"]


def test_an_aliyun_sms_is_signed_carries_the_key_as_out_id_and_is_delivered_once(vendors):
    sms = Sms.from_settings(vendors.settings()["sms"])
    sms.send(_msg("13800000001", "key-1"))
    sms.send(_msg("13800000001", "key-1"))               # a resend after a crash
    assert [(r["to"], r["key"]) for r in vendors.vendors.received] == [("13800000001", "key-1")]
    assert len(vendors.vendors.requests) == 2


def test_a_wrong_sms_secret_is_refused_by_the_signature_check(vendors):
    conf = dict(vendors.settings()["sms"], access_key_secret="wrong")
    with pytest.raises(RetryLater, match="SignatureDoesNotMatch"):
        Sms.from_settings(conf).send(_msg("13800000001"))


def test_sms_throttling_is_waited_out(vendors):
    vendors.vendors.sms_throttled = True
    with pytest.raises(RetryLater) as refused:
        Sms.from_settings(vendors.settings()["sms"]).send(_msg("13800000001"))
    assert refused.value.counts is False


def test_the_access_token_never_reaches_the_log(vendors):
    import io
    import logging

    from engine import logging_setup
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    handler = logging_setup.configure("INFO", stream=stream)
    try:
        WeCom.from_settings(vendors.settings()["wecom"]).send(_msg("wx-nurse"))
    finally:
        root.removeHandler(handler)
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    token = next(iter(vendors.vendors.valid_tokens))
    assert token not in stream.getvalue() and "wecom-secret" not in stream.getvalue()
