"""Time, injected. Every component takes a ``clock`` returning an aware UTC datetime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """UTC ISO-8601 with seconds precision, as stored in SQLite (sorts as text)."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def from_unix(ts: int | float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def beijing(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S", empty: str = "") -> str:
    """A stored UTC ISO time (or an aware datetime) as Beijing time, for people (the desk, the
    terminal, exports, reports)."""
    if not value:
        return empty
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime(fmt)
    try:
        return parse_iso(value).astimezone(SHANGHAI).strftime(fmt)
    except ValueError:
        return str(value)


__all__ = ["SHANGHAI", "Clock", "beijing", "from_unix", "iso", "parse_iso", "utcnow"]
