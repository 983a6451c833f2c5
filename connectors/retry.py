"""Capped exponential backoff with jitter, shared by the WeChat client and the WeCom webhook."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): ``min(cap, base * 2**attempt)``, jittered
    down to between 50% and 100% of that ("equal jitter"), so callers never stampede together."""
    ceiling = min(cap, base * (2 ** min(attempt, 32)))
    r = (rng or random).random()
    return ceiling * (0.5 + 0.5 * r)


__all__ = ["backoff_delay"]
