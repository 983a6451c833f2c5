"""Message push (服务器配置): signatures, AES envelopes and the XML of pushed messages.

The platform calls the account's server URL:

* ``GET ?signature&timestamp&nonce&echostr`` once, when the URL is saved: answer ``echostr``
  when ``signature`` = SHA-1 of the sorted ``[token, timestamp, nonce]``.
* ``POST ?signature&timestamp&nonce&openid[&encrypt_type=aes&msg_signature]`` for every
  message. Plaintext mode: the body is the message XML. Compatible mode: the body holds both
  the plain fields and ``<Encrypt>``. Safe mode: only ``<ToUserName>`` and ``<Encrypt>``.

Safe-mode crypto (``../shared/docs/wechat-api-notes.md`` §5.3): key = base64(EncodingAESKey +
"="), 32 bytes; AES-256-CBC with IV = the key's first 16 bytes; plaintext = 16 random bytes +
4-byte big-endian length + message + appid, PKCS#7-padded to **32** bytes; ``msg_signature`` =
SHA-1 of the sorted ``[token, timestamp, nonce, Encrypt]``. AES comes from ``cryptography``;
XML is parsed by ``defusedxml`` (no DTDs, no entities) after a size check.

:func:`decode_push` is the one boundary where everything wrong with a push (signature, age,
key, appid, XML, size, mode) becomes :class:`bot.errors.PushRejected`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.errors import PushRejected

Mode = Literal["plaintext", "compatible", "safe"]
MODES: tuple[str, ...] = ("plaintext", "compatible", "safe")
MAX_BODY = 64 * 1024  # a pushed message is a few KiB at most; anything bigger is refused
MAX_SKEW = 300.0  # seconds a push's timestamp may differ from our clock
BLOCK = 32  # the platform pads to 32 bytes, not AES's 16


def sign(*parts: str) -> str:
    """Lower-case hex SHA-1 of the parts sorted as strings and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(expected_parts: tuple[str, ...], signature: str) -> bool:
    return hmac.compare_digest(sign(*expected_parts), (signature or "").lower())


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key of a 43-character EncodingAESKey; ``ValueError`` when it is not one."""
    if len(encoding_aes_key) != 43:
        raise ValueError("an EncodingAESKey is 43 characters (letters and digits)")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("an EncodingAESKey is 43 characters of base64 (letters and digits)") from exc
    if len(key) != 32:  # pragma: no cover - 43 base64 characters always give 32 bytes
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


class PushCrypto:
    """Encrypt and decrypt safe-mode envelopes for one account (token, key, appid)."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.appid = appid
        self._key = aes_key(encoding_aes_key)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, text: str, *, random16: bytes | None = None) -> str:
        msg = text.encode("utf-8")
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(msg)) + msg + \
            self.appid.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> str:
        """The message inside ``encrypt``. Raises ``ValueError`` for a wrong key, bad padding,
        a bad length or another account's appid."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("Encrypt is not base64") from exc
        if not raw or len(raw) % 16:
            raise ValueError("Encrypt is not a whole number of AES blocks")
        dec = self._cipher().decryptor()
        plain = dec.update(raw) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise ValueError("bad padding (wrong EncodingAESKey?)")
        content = plain[16:-pad]
        if len(content) < 4:
            raise ValueError("decrypted message too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise ValueError("decrypted length out of range (wrong EncodingAESKey?)")
        msg, from_appid = content[4:4 + length], content[4 + length:]
        if not hmac.compare_digest(from_appid, self.appid.encode("utf-8")):
            raise ValueError("the message is for another appid")
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("decrypted message is not UTF-8 (wrong EncodingAESKey?)") from exc

    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sign(self.token, timestamp, nonce, encrypt)


# ---------------------------------------------------------------------------------- XML
def parse_xml(body: bytes | str) -> dict[str, str]:
    """The child elements of a flat ``<xml>`` document as ``{tag: text}``.

    Raises ``ValueError`` for anything else: too big, not XML, DTDs or entities, a root other
    than ``<xml>``, nested elements.
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) > MAX_BODY:
        raise ValueError(f"body larger than {MAX_BODY} bytes")
    try:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not acceptable XML ({type(exc).__name__})") from exc
    if root.tag != "xml":
        raise ValueError(f"root element is <{root.tag[:40]}>, expected <xml>")
    out: dict[str, str] = {}
    for child in root:
        if len(child):
            raise ValueError(f"<{child.tag[:40]}> has nested elements")
        out[str(child.tag)] = (child.text or "").strip() if child.tag != "Content" else (child.text or "")
    return out


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: Mapping[str, str | int]) -> str:
    """A flat ``<xml>`` document; strings CDATA-wrapped, integers bare (as the platform does)."""
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}>{_cdata(str(v))}</{k}>"
        for k, v in fields.items()
    )
    return f"<xml>{inner}</xml>"


# ------------------------------------------------------------------------------ messages
@dataclass(frozen=True)
class PushMessage:
    """One pushed message or event, as the platform sent it."""

    to_user: str  # the account's original id (gh_...)
    from_user: str  # the reader's openid
    create_time: int
    msg_type: str  # text, image, voice, video, shortvideo, location, link, event
    msg_id: int | None = None  # absent on events
    content: str = ""  # text messages
    event: str = ""
    fields: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def dedupe_key(self) -> str:
        """``MsgId`` for messages; ``FromUserName + CreateTime`` for events (notes §5.4)."""
        if self.msg_id is not None:
            return str(self.msg_id)
        return f"event:{self.from_user}:{self.create_time}"


def message_from_fields(fields: Mapping[str, str]) -> PushMessage:
    def need(name: str) -> str:
        value = fields.get(name, "")
        if not value:
            raise ValueError(f"<{name}> is missing")
        return value

    def integer(name: str, value: str) -> int:
        if not value.isascii() or not value.isdigit() or len(value) > 19:
            raise ValueError(f"<{name}> is not a non-negative integer")
        return int(value)

    msg_type = need("MsgType")
    msg_id = fields.get("MsgId")
    return PushMessage(
        to_user=need("ToUserName"),
        from_user=need("FromUserName")[:128],
        create_time=integer("CreateTime", need("CreateTime")),
        msg_type=msg_type[:32],
        msg_id=integer("MsgId", msg_id) if msg_id else None,
        content=fields.get("Content", "") if msg_type == "text" else "",
        event=fields.get("Event", "")[:64],
        fields=dict(fields),
    )


@dataclass(frozen=True)
class PushSettings:
    """What one account configured on the platform's 服务器配置 page."""

    token: str
    appid: str
    mode: Mode = "plaintext"
    encoding_aes_key: str = field(default="", repr=False)


def _reject(reason: str, message: str, status: int = 403) -> PushRejected:
    return PushRejected(message, reason=reason, status=status)


def check_fresh(query: Mapping[str, str], now: float, max_skew: float) -> tuple[str, str]:
    """(timestamp, nonce) when the query's timestamp is within ``max_skew`` of ``now``."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not timestamp or not nonce:
        raise _reject("signature", "timestamp or nonce missing")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise _reject("signature", "timestamp is not a number")
    if abs(now - int(timestamp)) > max_skew:
        raise _reject("timestamp", f"timestamp is more than {max_skew:g} s away from our clock")
    return timestamp, nonce


def verify_url(settings: PushSettings, query: Mapping[str, str], *, now: float,
               max_skew: float = MAX_SKEW) -> str:
    """The GET handshake: the ``echostr`` to answer, or :class:`PushRejected`."""
    timestamp, nonce = check_fresh(query, now, max_skew)
    if not signature_ok((settings.token, timestamp, nonce), query.get("signature", "")):
        raise _reject("signature", "signature does not match the token")
    echostr = query.get("echostr", "")
    if not echostr or len(echostr) > 256:
        raise _reject("malformed", "echostr missing or too long", 400)
    return echostr


def decode_push(settings: PushSettings, query: Mapping[str, str], body: bytes, *, now: float,
                max_skew: float = MAX_SKEW) -> PushMessage:
    """Check and open one POSTed push. Every failure is a :class:`PushRejected`."""
    if len(body) > MAX_BODY:
        raise _reject("too_large", f"body larger than {MAX_BODY} bytes", 413)
    timestamp, nonce = check_fresh(query, now, max_skew)
    encrypted = query.get("encrypt_type", "").lower() == "aes"
    if (query.get("signature") or not encrypted) and not signature_ok(
            (settings.token, timestamp, nonce), query.get("signature", "")):
        raise _reject("signature", "signature does not match the token")
    if settings.mode == "safe" and not encrypted:
        raise _reject("mode", "the account is in safe mode but the push is not encrypted", 400)
    if encrypted and settings.mode == "plaintext":
        raise _reject("mode", "the push is encrypted but the account is set to plaintext mode",
                      400)
    try:
        outer = parse_xml(body)
    except ValueError as exc:
        raise _reject("malformed", f"body: {exc}", 400) from exc
    fields = outer
    if encrypted:
        encrypt = outer.get("Encrypt", "")
        if not encrypt:
            raise _reject("malformed", "encrypted push without <Encrypt>", 400)
        if not settings.encoding_aes_key:
            raise _reject("decrypt", "the push is encrypted but no EncodingAESKey is configured",
                          400)
        crypto = PushCrypto(settings.token, settings.encoding_aes_key, settings.appid)
        if not signature_ok((settings.token, timestamp, nonce, encrypt),
                            query.get("msg_signature", "")):
            raise _reject("signature", "msg_signature does not match the token and <Encrypt>")
        try:
            fields = parse_xml(crypto.decrypt(encrypt))
        except ValueError as exc:
            raise _reject("decrypt", f"cannot decrypt: {exc}", 400) from exc
    try:
        return message_from_fields(fields)
    except ValueError as exc:
        raise _reject("malformed", f"message: {exc}", 400) from exc


def encode_push(settings: PushSettings, message_xml: str, *, timestamp: int, nonce: str,
                openid: str, to_user: str) -> tuple[dict[str, str], bytes]:
    """(query, body) for POSTing ``message_xml`` in ``settings.mode``, as the platform does."""
    ts = str(timestamp)
    query = {"signature": sign(settings.token, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": openid}
    if settings.mode == "plaintext":
        return query, message_xml.encode("utf-8")
    crypto = PushCrypto(settings.token, settings.encoding_aes_key, settings.appid)
    encrypt = crypto.encrypt(message_xml)
    query.update(encrypt_type="aes", msg_signature=crypto.msg_signature(ts, nonce, encrypt))
    if settings.mode == "safe":
        body = build_xml({"ToUserName": to_user, "Encrypt": encrypt})
    else:  # compatible: the plain fields and the envelope side by side
        body = message_xml.removesuffix("</xml>") + f"<Encrypt>{_cdata(encrypt)}</Encrypt></xml>"
    return query, body.encode("utf-8")


__all__ = [
    "MAX_BODY",
    "MAX_SKEW",
    "MODES",
    "Mode",
    "PushCrypto",
    "PushMessage",
    "PushSettings",
    "aes_key",
    "build_xml",
    "decode_push",
    "encode_push",
    "message_from_fields",
    "parse_xml",
    "sign",
    "signature_ok",
    "verify_url",
]
