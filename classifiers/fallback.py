"""When the model cannot be loaded: the keyword baseline, in the safe direction.

A corrupt, tampered or incompatible model file must not take the bot down (under systemd's
``Restart=always`` that is a restart loop and a total outage). :func:`load_or_fallback` returns
the model, or :class:`KeywordFallback` and the reason. The fallback sends **every comment with
any urgent keyword to review** (an editor looks; score 0.5) and never to ``auto``: no public
reply is made on a keyword alone. The daemon says so on ``/healthz`` (status ``degraded``), on
the desk (a banner on every page) and once to the duty group.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loguru import logger

from bot.errors import DianhuaError
from classifiers.prediction import Prediction

VERSION = "keyword-fallback"
REVIEW_SCORE = 0.5
# Used when data/keywords_baseline.txt is not there either (an installed package).
BUILTIN_KEYWORDS = ("急", "求助", "求救", "救命", "孕妇", "怀孕", "见红", "破水", "临产", "透析",
                    "化疗", "放疗", "急诊", "120", "住院", "高烧", "发烧", "抽搐", "昏迷",
                    "呼吸困难", "胸痛", "出血", "断药", "没药", "胰岛素", "新生儿", "病危")


class KeywordFallback:
    """A predictor with the model's interface: any keyword → ``review``, else ``below``."""

    version = VERSION

    def __init__(self, keywords: Sequence[str] | None = None) -> None:
        from classifiers.baseline import KeywordBaseline

        if keywords is None:
            try:
                self.baseline = KeywordBaseline.load()
            except (OSError, DianhuaError):
                self.baseline = KeywordBaseline(BUILTIN_KEYWORDS)
        else:
            self.baseline = KeywordBaseline(keywords)
        self.card: dict[str, Any] = {"name": "keyword fallback", "version": VERSION,
                                     "thresholds": {"review": REVIEW_SCORE, "auto": 1.01}}

    def predict(self, text: str) -> Prediction:
        found = self.baseline.matches(text if isinstance(text, str) else "")
        if found:
            return Prediction(REVIEW_SCORE, "review", "", 0.0,
                              tuple((k, 1.0) for k in found[:5]), VERSION)
        return Prediction(0.0, "below", "", 0.0, (), VERSION)

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        return [self.predict(t) for t in texts]


def load_or_fallback(path: str | Path | None) -> tuple[Any, str | None]:
    """``(model, None)``, or ``(KeywordFallback(), reason)`` when the model cannot be used."""
    from classifiers.persist import load_model

    try:
        return load_model(path), None
    except DianhuaError as exc:
        reason = str(exc)
    except Exception as exc:  # anything else a broken file can raise: still not an outage
        reason = f"{type(exc).__name__}: {exc}"
    logger.error("model unusable ({}); running on the keyword fallback: every comment with an "
                 "urgent keyword goes to review, none to auto", reason)
    return KeywordFallback(), reason


__all__ = ["KeywordFallback", "load_or_fallback"]
