"""The daemon's heartbeat in the database: what the stand-alone desk shows about the daemon.

The daemon writes one ``meta`` row (``daemon.heartbeat``) every few seconds: when, which rules
and model versions are live, the last rules error, why the model fell back to keywords (if it
did), since when it runs. ``dianhua web`` runs in
another process and cannot ask the daemon; it reads this row and shows its age, never "ok".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.store import Store

KEY = "daemon.heartbeat"
EVERY_SECONDS = 10.0  # how often the daemon writes it (also on every rules change)
STALE_SECONDS = 60.0  # older than this: the desk says the daemon may not be running


@dataclass(frozen=True)
class Heartbeat:
    at: datetime
    rules_version: str
    rules_error: str | None
    model_version: str
    started_at: str
    pid: int
    model_error: str | None = None  # the model could not be loaded: the keyword fallback runs

    def age(self, now: datetime) -> float:
        return max(0.0, (now - self.at).total_seconds())

    def stale(self, now: datetime) -> bool:
        return self.age(now) > STALE_SECONDS


def publish(store: Store, *, at: datetime, rules_version: str, rules_error: str | None,
            model_version: str, started_at: datetime, model_error: str | None = None) -> None:
    store.set_meta(KEY, json.dumps({
        "at": iso(at), "rules_version": rules_version, "rules_error": rules_error,
        "model_version": model_version, "model_error": model_error,
        "started_at": iso(started_at), "pid": os.getpid(),
    }, ensure_ascii=False))


def read(store: Store) -> Heartbeat | None:
    """The last heartbeat the daemon wrote, or None (never ran on this database, or unreadable)."""
    raw = store.get_meta(KEY)
    if not raw:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        return Heartbeat(
            at=parse_iso(str(data["at"])),
            rules_version=str(data.get("rules_version") or ""),
            rules_error=(str(data["rules_error"]) if data.get("rules_error") else None),
            model_version=str(data.get("model_version") or ""),
            started_at=str(data.get("started_at") or ""),
            pid=int(data.get("pid") or 0),
            model_error=(str(data["model_error"]) if data.get("model_error") else None),
        )
    except (ValueError, KeyError, TypeError):
        return None


__all__ = ["EVERY_SECONDS", "STALE_SECONDS", "Heartbeat", "publish", "read"]
