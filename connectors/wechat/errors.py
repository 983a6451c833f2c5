"""The one boundary where wire errors become :mod:`bot.errors` exceptions.

* :func:`error_for` maps a platform ``errcode`` to a class (never looks at ``errmsg``).
* :func:`raise_for_errcode` checks a decoded JSON answer.
* :func:`transport_error` wraps an ``httpx`` exception (the caller does ``raise ... from exc``).
* :func:`mask` removes ``access_token``, ``secret``, ``key`` values from any text.

40001 means two things: on the token endpoint it is a wrong AppSecret (:class:`AuthError`), on
business endpoints a stale token (:class:`TokenExpired`) -- hence ``context``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

import httpx

from bot.clock import SHANGHAI
from bot.errors import (
    AlreadyReplied,
    ApiError,
    AuthError,
    BadRequest,
    NotFound,
    ProtocolError,
    RateLimited,
    TokenExpired,
    TransientError,
)

Context = Literal["token", "business", "wecom"]

TOKEN_STALE = frozenset({40001, 40014, 42001, 41001})
# On the token endpoint every one of these means: the credentials or the account are wrong. Stop.
_TOKEN_AUTH = frozenset(
    {40001, 40002, 40013, 40125, 40164, 40243, 41002, 41004, 50004, 50007, 61024,
     89501, 89503, 89506, 89507}
)
_AUTH = frozenset(
    {40013, 40125, 40164, 40243, 48001, 48004, 50002, 50004, 50007, 61024, 88000, 93000}
)
_NOT_FOUND = frozenset({88001, 88004, 88008, 88009, 87009, 53600})
_BAD_REQUEST = frozenset(
    {40002, 40003, 40008, 40033, 40035, 40058, 40097, 43001, 43002, 43004, 44002, 44004, 45015,
     45047, 47001, 61500, 61501, 76021, 76022, 88002, 88003, 88007, 88010, 88011}
)
_MINUTE = frozenset({45011})

_SECRET_RE = re.compile(r"(?i)((?:access_token|secret|appsecret|key)=)[^&\s\"']*")


def mask(text: str) -> str:
    """Replace the value of ``access_token=``, ``secret=`` and ``key=`` parameters with ``***``."""
    return _SECRET_RE.sub(r"\1***", text)


def seconds_to_next_minute(now: float) -> float:
    """Seconds until the next whole minute (at least 1)."""
    return max(1.0, 60.0 - (now % 60.0))


def seconds_to_shanghai_midnight(now: float) -> float:
    """Seconds until 00:00 Asia/Shanghai, when the platform's daily quotas reset (at least 1)."""
    local = datetime.fromtimestamp(now, SHANGHAI)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, math.ceil(midnight.timestamp() - now))


def error_for(
    errcode: int, errmsg: str, *, endpoint: str, context: Context = "business", now: float
) -> ApiError:
    """The exception for a non-zero ``errcode``; the only errcode→class mapping in dianhua.

    Codes nobody documented for our calls become :class:`BadRequest` (do not retry blindly).
    45009 means "daily quota" on the official-account API (retry after Asia/Shanghai midnight) but
    "20 messages a minute" on the WeCom robot (retry next minute).
    """
    errmsg = mask(errmsg)
    message = f"{endpoint}: errcode {errcode} ({errmsg.split(' rid:')[0].split(' hint:')[0]})"
    kw: dict[str, object] = {"errcode": errcode, "errmsg": errmsg, "endpoint": endpoint}
    if errcode == -1:
        return TransientError(message, **kw)  # type: ignore[arg-type]
    if context == "token" and errcode in _TOKEN_AUTH:
        return AuthError(message + " — check appid/secret and the IP whitelist", **kw)  # type: ignore[arg-type]
    if context == "business" and errcode in TOKEN_STALE:
        return TokenExpired(message, **kw)  # type: ignore[arg-type]
    if errcode in _MINUTE or (errcode == 45009 and context == "wecom"):
        return RateLimited(message, retry_after=seconds_to_next_minute(now), **kw)
    if errcode == 45009:
        return RateLimited(message, retry_after=seconds_to_shanghai_midnight(now), **kw)
    if errcode in _AUTH:
        return AuthError(message, **kw)  # type: ignore[arg-type]
    if errcode == 88005:
        return AlreadyReplied(message, **kw)  # type: ignore[arg-type]
    if errcode in _NOT_FOUND:
        return NotFound(message, **kw)  # type: ignore[arg-type]
    # _BAD_REQUEST and everything unknown.
    return BadRequest(message, **kw)  # type: ignore[arg-type]


def raise_for_errcode(
    payload: object, *, endpoint: str, context: Context = "business", now: float
) -> Mapping[str, object]:
    """Return ``payload`` as a mapping if it is a success answer, else raise the typed error.

    Success is a JSON object with no ``errcode`` or ``errcode == 0`` (token and batchget answers
    carry no errcode at all).
    """
    if not isinstance(payload, Mapping):
        raise ProtocolError(f"{endpoint}: expected a JSON object, got {type(payload).__name__}",
                            endpoint=endpoint)
    code = payload.get("errcode", 0)
    if isinstance(code, str) and re.fullmatch(r"-?[0-9]{1,12}", code.strip()):
        code = int(code)  # tolerant: some gateways quote numbers
    if isinstance(code, bool) or not isinstance(code, int):
        raise ProtocolError(f"{endpoint}: errcode is not an integer", endpoint=endpoint)
    if code == 0:
        return payload
    errmsg = payload.get("errmsg", "")
    raise error_for(code, errmsg if isinstance(errmsg, str) else "", endpoint=endpoint,
                    context=context, now=now)


def transport_error(exc: httpx.HTTPError, *, endpoint: str) -> TransientError:
    """A :class:`TransientError` for a timeout / connection / protocol failure (no URL, no token)."""
    detail = mask(str(exc)) or type(exc).__name__
    return TransientError(f"{endpoint}: {type(exc).__name__}: {detail}", endpoint=endpoint)


def maybe_delivered(exc: ApiError) -> bool:
    """Whether a failed call may still have been carried out by the platform.

    False only when it certainly was not: the platform answered with an errcode (``-1`` system
    busy included), or the connection was never made. A timeout after the request was sent, a
    garbled answer or an HTTP error status may hide a success.
    """
    if exc.errcode is not None or exc.endpoint in ("token", "stable_token"):
        return False  # an answer, or the token call failed: the business call never went out
    return not isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


def http_status_error(status: int, *, endpoint: str) -> ApiError:
    """5xx/408/429 are passing trouble; any other non-200 status means our request is wrong."""
    if status >= 500 or status in (408, 429):
        return TransientError(f"{endpoint}: HTTP {status}", endpoint=endpoint)
    return BadRequest(f"{endpoint}: HTTP {status}", endpoint=endpoint)


__all__ = [
    "TOKEN_STALE",
    "error_for",
    "http_status_error",
    "mask",
    "maybe_delivered",
    "raise_for_errcode",
    "seconds_to_next_minute",
    "seconds_to_shanghai_midnight",
    "transport_error",
]
