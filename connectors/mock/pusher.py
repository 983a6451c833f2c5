"""The platform's other side: push a reader's private message to the bot's server URL.

As the real platform does (notes §5): the message XML (CDATA strings, integer times and
MsgId), signed with the account's token, encrypted with its EncodingAESKey in safe mode (and
both side by side in compatible mode), POSTed with ``signature``, ``timestamp``, ``nonce``,
``openid`` (plus ``encrypt_type=aes`` and ``msg_signature``). No answer within the timeout
(5 s, like the platform) or no connection: the same request is sent again, 3 attempts in all.
An answer is recorded as it came; ``success`` or an empty body counts as delivered.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from connectors.mock.state import AdminError, MockState
from connectors.wechat.push import MODES, PushSettings, aes_key, build_xml, encode_push

ATTEMPTS = 3
TIMEOUT = 5.0
ORIGINAL_ID = "gh_0000000000mk"  # the mock account's original id (ToUserName)


@dataclass
class PushTarget:
    url: str
    token: str
    mode: str = "plaintext"
    encoding_aes_key: str = field(default="", repr=False)
    timeout_s: float = TIMEOUT

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["encoding_aes_key"] = "***" if self.encoding_aes_key else ""
        out["token"] = "***" if self.token else ""
        return out


class Pusher:
    """Delivers readers' messages to the configured push URL, with the platform's retries."""

    def __init__(self, state: MockState, *, appid: str,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.state = state
        self.appid = appid
        self.transport = transport
        self.target: PushTarget | None = None

    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set the push URL, token, mode and key (as on the 服务器配置 page); checked first."""
        unknown = sorted(set(body) - {"url", "token", "mode", "encoding_aes_key", "timeout_s"})
        if unknown:
            raise AdminError(400, f"unknown field(s) {unknown}")
        url, token = body.get("url"), body.get("token")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise AdminError(400, "url must be the bot's push URL, e.g. http://127.0.0.1:8080/wechat/main")
        if not isinstance(token, str) or not token:
            raise AdminError(400, "token must be the Token entered on the account's 服务器配置 page")
        mode = body.get("mode", "plaintext")
        if mode not in MODES:
            raise AdminError(400, f"mode must be one of {list(MODES)}")
        key = body.get("encoding_aes_key", "")
        if not isinstance(key, str) or (mode != "plaintext" and not key):
            raise AdminError(400, f"mode {mode} needs encoding_aes_key (43 characters)")
        if key:
            try:
                aes_key(key)
            except ValueError as exc:
                raise AdminError(400, f"encoding_aes_key: {exc}") from exc
        timeout = body.get("timeout_s", TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
            raise AdminError(400, "timeout_s must be a number of seconds in (0, 60]")
        self.target = PushTarget(url, token, mode, key, float(timeout))
        return self.target.public()

    def push_text(self, openid: str, content: str, create_time: int | None = None) -> dict[str, Any]:
        """Record the reader's message (it opens the 48-hour window) and deliver it."""
        if self.target is None:
            raise AdminError(409, "no push URL yet: POST /_mock/push {url, token, mode, "
                                  "encoding_aes_key} first")
        msg_id = self.state.add_user_message(openid, content, "text", create_time)
        created = self.state.user_message_time(msg_id)
        xml = build_xml({"ToUserName": ORIGINAL_ID, "FromUserName": openid,
                         "CreateTime": created, "MsgType": "text", "Content": content,
                         "MsgId": msg_id})
        t = self.target
        settings = PushSettings(token=t.token, appid=self.appid, mode=t.mode,  # type: ignore[arg-type]
                                encoding_aes_key=t.encoding_aes_key)
        query, body = encode_push(settings, xml, timestamp=int(self.state.clock()),
                                  nonce=str(secrets.randbelow(10**10)), openid=openid,
                                  to_user=ORIGINAL_ID)
        attempts: list[dict[str, Any]] = []
        delivered = False
        with httpx.Client(transport=self.transport, timeout=t.timeout_s) as http:
            for _ in range(ATTEMPTS):
                try:
                    r = http.post(t.url, params=query, content=body,
                                  headers={"Content-Type": "text/xml; charset=utf-8"})
                except httpx.TimeoutException:
                    attempts.append({"error": "timeout"})
                    continue
                except httpx.TransportError as exc:
                    attempts.append({"error": type(exc).__name__})
                    continue
                answer = r.text[:200]
                attempts.append({"status": r.status_code, "answer": answer})
                delivered = r.status_code == 200 and answer.strip() in ("success", "")
                break
        self.state.record_delivery(msg_id, attempts, delivered)
        return {"msg_id": msg_id, "create_time": created, "delivered": delivered,
                "attempts": attempts}


__all__ = ["ATTEMPTS", "ORIGINAL_ID", "TIMEOUT", "PushTarget", "Pusher"]
