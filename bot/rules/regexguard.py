"""Regular expressions from rules.yaml, with guards against patterns that can hang the bot.

Three guards: patterns are at most :data:`MAX_PATTERN` characters; nested repeats such as
``(a+)+`` or ``(\\d*)*`` (the classic catastrophic backtracking shape) are refused at load
time; and matching runs on the first :data:`MAX_TEXT` characters with a time limit
(the ``regex`` module's ``timeout``), so even a pattern that slips through cannot stall.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import regex

MAX_PATTERN = 300
MAX_TEXT = 2000
TIMEOUT_SECONDS = 0.05

try:  # the parser behind ``re``; used only to look at a pattern's shape
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sre_parse as _sre_parse  # type: ignore[no-redef]

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


class UnsafePattern(ValueError):
    """The pattern is refused; the message is for a person."""


def _repeats_inside(items: Any, depth: int = 0) -> bool:
    """True when ``items`` (a parsed sub-pattern) contains a repeat that can match many times."""
    if depth > 50:
        return True
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            lo, hi, body = arg
            if hi is _sre_parse.MAXREPEAT or (hi > 1 and hi != lo) or _repeats_inside(body, depth + 1):
                return True
        elif name == "SUBPATTERN":
            if _repeats_inside(arg[-1], depth + 1):
                return True
        elif name == "BRANCH":
            if any(_repeats_inside(branch, depth + 1) for branch in arg[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT") and _repeats_inside(arg[1], depth + 1):
            return True
    return False


def _nested(items: Any, depth: int = 0) -> bool:
    if depth > 50:
        return True
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            lo, hi, body = arg
            many = hi is _sre_parse.MAXREPEAT or hi > 10
            if many and _repeats_inside(body, depth + 1):
                return True
            if _nested(body, depth + 1):
                return True
        elif name == "SUBPATTERN":
            if _nested(arg[-1], depth + 1):
                return True
        elif name == "BRANCH":
            if any(_nested(branch, depth + 1) for branch in arg[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT") and _nested(arg[1], depth + 1):
            return True
    return False


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile a rules.yaml pattern (case-insensitive) or raise :class:`UnsafePattern`."""
    if len(pattern) > MAX_PATTERN:
        raise UnsafePattern(f"is too long ({len(pattern)} characters, at most {MAX_PATTERN})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = _sre_parse.parse(pattern)
            compiled = regex.compile(pattern, regex.IGNORECASE | regex.V0)
    except (re.error, regex.error, RecursionError, OverflowError, ValueError, TypeError) as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        raise UnsafePattern(f"is not a valid regular expression: {msg}") from None
    if _nested(parsed.data if hasattr(parsed, "data") else parsed):
        raise UnsafePattern(
            "has a repeat inside a repeat, like (a+)+, which can take forever on some texts; "
            "simplify it (for example (a+)+ → a+)"
        )
    return compiled


def safe_search(compiled: regex.Pattern[str], text: str) -> bool:
    """True when the pattern is found in the first :data:`MAX_TEXT` characters; never raises.

    A search that runs past :data:`TIMEOUT_SECONDS` counts as no match.
    """
    try:
        return compiled.search(text[:MAX_TEXT], timeout=TIMEOUT_SECONDS) is not None
    except Exception:
        return False


__all__ = ["MAX_PATTERN", "MAX_TEXT", "UnsafePattern", "compile_pattern", "safe_search"]
