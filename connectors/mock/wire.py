"""Small shared pieces of the mock: request/response values, fault settings, call statistics."""

from __future__ import annotations

import json
import random
import secrets
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from connectors.mock.state import AdminError


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    client: str = "127.0.0.1"


@dataclass
class Response:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(self.payload, ensure_ascii=False).encode("utf-8")


def rid() -> str:
    """A request id shaped like the real one: ``61a9e588-4a6e5666-37bdd2ca``."""
    return "-".join(secrets.token_hex(4) for _ in range(3))


def platform_error(errcode: int, errmsg: str) -> Response:
    """The platform's error answer: HTTP 200, errcode, errmsg with a ``rid:`` suffix."""
    return Response(200, {"errcode": errcode, "errmsg": f"{errmsg} rid: {rid()}"})


def admin_error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def json_object(body: bytes) -> dict[str, Any]:
    """An admin request body as a JSON object, or :class:`AdminError` 400 saying why not."""
    if not body.strip():
        raise AdminError(400, "request body is empty; send a JSON object")
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise AdminError(400, f"request body is not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise AdminError(400, f"request body is not valid JSON: {exc.msg} at line {exc.lineno}"
                              f" column {exc.colno}") from exc
    except RecursionError as exc:
        raise AdminError(400, "request body is nested too deeply") from exc
    if not isinstance(value, dict):
        raise AdminError(400, f"request body must be a JSON object, got {type(value).__name__}")
    return value


class Faults:
    """Fault injection settings, changed at runtime through ``POST /_mock/faults``."""

    def __init__(self, *, daily_quota: int | None = None, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.error_rate = 0.0
        self.latency_ms = 0
        self.daily_quota = daily_quota
        self.webhook_per_minute: int | None = 20
        # The notes say the platform answers 40033 to \uXXXX-escaped non-ASCII; that is verified
        # for some APIs only, so the mock is tolerant by default and strict on request.
        self.strict_charset = False
        self._rng = random.Random(seed)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"error_rate": self.error_rate, "latency_ms": self.latency_ms,
                    "daily_quota": self.daily_quota, "webhook_per_minute": self.webhook_per_minute,
                    "strict_charset": self.strict_charset, "expire_tokens": False}

    def update(self, data: dict[str, Any]) -> None:
        """Validate everything first, then apply: a bad field changes nothing."""
        known = {"error_rate", "latency_ms", "daily_quota", "webhook_per_minute", "expire_tokens",
                 "seed", "strict_charset"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AdminError(400, f"unknown field(s) {unknown}; known: {sorted(known)}")
        new: dict[str, Any] = {}
        if "error_rate" in data:
            v = data["error_rate"]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                raise AdminError(400, "error_rate must be a number between 0 and 1")
            new["error_rate"] = float(v)
        if "latency_ms" in data:
            v = data["latency_ms"]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 60_000:
                raise AdminError(400, "latency_ms must be an integer between 0 and 60000")
            new["latency_ms"] = v
        for name in ("daily_quota", "webhook_per_minute"):
            if name in data:
                v = data[name]
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    raise AdminError(400, f"{name} must be a non-negative integer or null")
                new[name] = v
        if "strict_charset" in data:
            if not isinstance(data["strict_charset"], bool):
                raise AdminError(400, "strict_charset must be true or false")
            new["strict_charset"] = data["strict_charset"]
        if "expire_tokens" in data and not isinstance(data["expire_tokens"], bool):
            raise AdminError(400, "expire_tokens must be true or false")
        if "seed" in data and (isinstance(data["seed"], bool) or not isinstance(data["seed"], int)):
            raise AdminError(400, "seed must be an integer")
        with self._lock:
            for k, v in new.items():
                setattr(self, k, v)
            if "seed" in data:
                self._rng.seed(data["seed"])

    def should_fail(self) -> bool:
        with self._lock:
            return self.error_rate > 0 and self._rng.random() < self.error_rate


class Stats:
    """Calls per path and errcodes per path since start (or the last reset)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.errcodes: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def record(self, path: str, response: Response) -> None:
        with self._lock:
            self.calls[path] += 1
            payload = response.payload
            if isinstance(payload, dict) and payload.get("errcode") not in (None, 0):
                self.errcodes[path][str(payload["errcode"])] += 1
            elif response.status >= 400:
                self.errcodes[path][f"http {response.status}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(sorted(self.calls.items())),
                    "errcodes": {p: dict(c) for p, c in sorted(self.errcodes.items())}}

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.errcodes.clear()


__all__ = ["Faults", "Request", "Response", "Stats", "admin_error", "json_object", "platform_error",
           "rid"]
