"""connectors/wechat/push.py: signatures, safe-mode AES, XML, and every way a push is refused."""

from __future__ import annotations

import base64

import pytest

from bot.errors import PushRejected
from connectors.wechat.push import (
    MAX_BODY,
    PushCrypto,
    PushSettings,
    aes_key,
    build_xml,
    decode_push,
    encode_push,
    parse_xml,
    sign,
    verify_url,
)

KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # wechatpy's test vector key
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx0000000000000000"
NOW = 1_700_000_000
PHONE = "13800000000"


def settings(mode: str = "safe", key: str = KEY, token: str = "tok123") -> PushSettings:
    return PushSettings(token=token, appid=APPID, mode=mode, encoding_aes_key=key)  # type: ignore[arg-type]


def message(content: str = f"电话 {PHONE}", msg_id: int = 23474120000000001) -> str:
    return build_xml({"ToUserName": "gh_0000000000mk", "FromUserName": "o_reader",
                      "CreateTime": NOW, "MsgType": "text", "Content": content, "MsgId": msg_id})


def pushed(mode: str = "safe", **kw: object) -> tuple[dict[str, str], bytes]:
    return encode_push(settings(mode), message(), timestamp=NOW, nonce="123456", openid="o_reader",
                       to_user="gh_0000000000mk", **kw)  # type: ignore[arg-type]


def test_signature_test_vector_from_the_notes() -> None:
    assert sign("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"


def test_handshake_echoes_only_with_the_right_token() -> None:
    q = {"timestamp": str(NOW), "nonce": "42", "echostr": "hello123",
         "signature": sign("tok123", str(NOW), "42")}
    assert verify_url(settings(), q, now=NOW) == "hello123"
    with pytest.raises(PushRejected) as info:
        verify_url(settings(token="other1"), q, now=NOW)
    assert info.value.reason == "signature" and info.value.status == 403


@pytest.mark.parametrize("mode", ["plaintext", "compatible", "safe"])
def test_every_mode_round_trips(mode: str) -> None:
    query, body = pushed(mode)
    msg = decode_push(settings(mode), query, body, now=NOW)
    assert msg.msg_type == "text" and msg.from_user == "o_reader"
    assert msg.content == f"电话 {PHONE}" and msg.msg_id == 23474120000000001
    assert msg.create_time == NOW


def test_safe_mode_body_holds_no_plaintext() -> None:
    _, body = pushed("safe")
    assert PHONE.encode() not in body and b"<Encrypt>" in body


def test_padding_is_to_32_bytes_and_appid_is_checked() -> None:
    crypto = PushCrypto("t", KEY, APPID)
    raw = base64.b64decode(crypto.encrypt("x"))
    assert len(raw) % 32 == 0
    with pytest.raises(ValueError, match="appid"):
        PushCrypto("t", KEY, "wx1111111111111111").decrypt(crypto.encrypt("x"))


def test_bad_signature_is_refused() -> None:
    query, body = pushed("plaintext")
    query["signature"] = "0" * 40
    with pytest.raises(PushRejected) as info:
        decode_push(settings("plaintext"), query, body, now=NOW)
    assert info.value.reason == "signature" and info.value.status == 403


def test_bad_msg_signature_is_refused() -> None:
    query, body = pushed("safe")
    query["msg_signature"] = "f" * 40
    with pytest.raises(PushRejected) as info:
        decode_push(settings("safe"), query, body, now=NOW)
    assert info.value.reason == "signature"


def test_wrong_aes_key_is_refused() -> None:
    query, body = pushed("safe")
    with pytest.raises(PushRejected) as info:
        decode_push(settings("safe", key=OTHER_KEY), query, body, now=NOW)
    assert info.value.reason == "decrypt" and info.value.status == 400
    assert PHONE not in str(info.value)


@pytest.mark.parametrize("skew", [-301, 301, 86_400])
def test_timestamps_out_of_the_window_are_refused(skew: int) -> None:
    query, body = pushed("safe")
    with pytest.raises(PushRejected) as info:
        decode_push(settings("safe"), query, body, now=NOW + skew)
    assert info.value.reason == "timestamp"


def test_timestamp_inside_the_window_is_accepted() -> None:
    query, body = pushed("safe")
    assert decode_push(settings("safe"), query, body, now=NOW + 299).msg_id


def test_mode_mismatches_are_refused() -> None:
    query, body = pushed("plaintext")
    with pytest.raises(PushRejected) as info:
        decode_push(settings("safe"), query, body, now=NOW)
    assert info.value.reason == "mode"
    query, body = pushed("safe")
    with pytest.raises(PushRejected) as info:
        decode_push(settings("plaintext", key=""), query, body, now=NOW)
    assert info.value.reason == "mode"


@pytest.mark.parametrize("body", [
    b"", b"not xml", b"<xml><a>", b"<root><MsgType>text</MsgType></root>",
    b"<xml><MsgType><b>x</b></MsgType></xml>",
    b"<xml><ToUserName>gh</ToUserName></xml>",  # fields missing
    b"<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>x</CreateTime>"
    b"<MsgType>text</MsgType></xml>",  # CreateTime not a number
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    b"<xml><Content>&b;</Content></xml>",  # entity expansion
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml/>',  # external DTD
])
def test_malformed_xml_is_refused(body: bytes) -> None:
    ts = str(NOW)
    query = {"timestamp": ts, "nonce": "1", "signature": sign("tok123", ts, "1")}
    with pytest.raises(PushRejected) as info:
        decode_push(settings("plaintext", key=""), query, body, now=NOW)
    assert info.value.reason == "malformed" and info.value.status == 400


def test_huge_bodies_are_refused_before_parsing() -> None:
    ts = str(NOW)
    query = {"timestamp": ts, "nonce": "1", "signature": sign("tok123", ts, "1")}
    body = b"<xml><Content>" + b"a" * MAX_BODY + b"</Content></xml>"
    with pytest.raises(PushRejected) as info:
        decode_push(settings("plaintext", key=""), query, body, now=NOW)
    assert info.value.reason == "too_large" and info.value.status == 413
    with pytest.raises(ValueError):
        parse_xml(body)


def test_garbage_in_encrypt_is_refused() -> None:
    ts = str(NOW)
    for encrypt in ["not base64!", base64.b64encode(b"short").decode(), "A" * 64]:
        body = build_xml({"ToUserName": "gh", "Encrypt": encrypt}).encode()
        query = {"timestamp": ts, "nonce": "1", "encrypt_type": "aes",
                 "msg_signature": sign("tok123", ts, "1", encrypt)}
        with pytest.raises(PushRejected) as info:
            decode_push(settings("safe"), query, body, now=NOW)
        assert info.value.reason == "decrypt"


def test_aes_key_must_be_43_base64_characters() -> None:
    assert len(aes_key(KEY)) == 32
    for bad in ["short", KEY + "A", KEY[:-1] + "!"]:
        with pytest.raises(ValueError):
            aes_key(bad)
