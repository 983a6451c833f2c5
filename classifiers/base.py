"""What every dianhua model does with its heads' outputs: thresholds, bands, the voice cap and
:class:`~classifiers.prediction.Prediction` objects.

Two classes compute the heads: :class:`classifiers.model.UrgencyModel` with the fitted
scikit-learn estimators (training, evaluation plots, anything that refits), and
:class:`classifiers.lean.LeanModel` with numpy alone from the model's exported arrays (what
:func:`classifiers.load_model` returns for scoring). Both subclass :class:`ModelBase`, so the
daemon, the CLI and the rules engine see one surface: ``scores``, ``assess``, ``predict``,
``predict_many``, ``version``, ``categories``, ``thresholds``, ``voice_cut``, ``has_voice`` and
``card``. Needs no scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bot.errors import ModelError
from classifiers.prediction import Prediction, band_for
from classifiers.voice import CAP_REASON, NEWS_CAP_REASON, NO_CAP, reads_as_news

Terms = tuple[tuple[str, float], ...]


def _exp32() -> Callable[[float], float]:
    """The C library's single-precision ``expf`` (what scipy's float32 ``expit`` calls)."""
    global _EXPF
    if _EXPF is None:
        import ctypes
        import ctypes.util

        try:
            libm = ctypes.CDLL("libm.so.6")
        except OSError:  # not glibc: find it by name
            libm = ctypes.CDLL(ctypes.util.find_library("m") or ctypes.util.find_library("c"))
        fn = libm.expf
        fn.restype = ctypes.c_float
        fn.argtypes = [ctypes.c_float]
        _EXPF = fn
    return _EXPF


_EXPF: Callable[[float], float] | None = None


def _exp64(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


def expit(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` element by element in ``z``'s precision, as ``scipy.special.expit``
    computes it: the C library's ``exp`` (``expf`` for float32), to the last bit. numpy's own
    vectorised ``exp`` can differ from it in the last bit."""
    z = np.asarray(z)
    dtype = np.float32 if z.dtype == np.float32 else np.float64
    exp = _exp32() if dtype == np.float32 else _exp64
    e: np.ndarray = np.fromiter(map(exp, (-z).astype(dtype).tolist()), dtype=dtype,
                                count=z.size)
    return np.divide(1, np.add(1, e)).reshape(z.shape)  # in e's dtype (1 is a weak scalar)


class ModelBase:
    """Thresholds and voice cut from the card; scores → bands → predictions.

    A subclass computes the features of a batch (:meth:`_transform`) and the heads on them
    (:meth:`_urgent`, :meth:`_voice`, :meth:`_category_proba`, :meth:`_top_terms`).
    """

    card: dict[str, Any]

    def __init__(self, card: dict[str, Any]) -> None:
        self.card = card
        th = card.get("thresholds") or {}
        try:
            self.thresholds: dict[str, float] = {
                "review": float(th["review"]),
                "auto": float(th["auto"]),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError("the model card has no valid thresholds (review, auto)") from exc
        if not 0.0 <= self.thresholds["review"] <= self.thresholds["auto"] <= 1.0:
            raise ModelError(
                "the model card's thresholds must satisfy 0 <= review <= auto <= 1, "
                f"got {self.thresholds}"
            )
        try:
            self.voice_cut = float((card.get("voice") or {}).get("cut", NO_CAP))
        except (TypeError, ValueError) as exc:
            raise ModelError("the model card's voice cut is not a number") from exc

    # -- what a subclass provides ----------------------------------------------------------
    @property
    def categories(self) -> list[str]:
        raise NotImplementedError

    @property
    def has_voice(self) -> bool:
        """Whether the model has a voice head (else only the press-words rule caps ``auto``)."""
        raise NotImplementedError

    def _transform(self, clean: list[str]) -> Any:
        """The features of ``clean`` (computed once for every head)."""
        raise NotImplementedError

    def _urgent(self, x: Any) -> np.ndarray:
        """The urgent head's calibrated probability of each row."""
        raise NotImplementedError

    def _voice(self, x: Any) -> np.ndarray | None:
        """The voice head's probability of each row (``None`` without a voice head)."""
        raise NotImplementedError

    def _category_proba(self, x: Any) -> np.ndarray:
        """The category head's probabilities, one column per :attr:`categories` entry."""
        raise NotImplementedError

    def _top_terms(self, x: Any) -> list[Terms]:
        """The explanation of each row (:class:`classifiers.explain.Explainer`)."""
        raise NotImplementedError

    # -- the shared surface ----------------------------------------------------------------
    @property
    def version(self) -> str:
        return str(self.card.get("version", ""))

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated urgent probabilities for ``texts`` (no explanation; fastest path)."""
        clean = [t if isinstance(t, str) else "" for t in texts]
        if not clean:
            return np.zeros(0)
        return np.clip(self._urgent(self._transform(clean)), 0.0, 1.0)

    def assess(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``(scores, voice, capped)``: urgent scores, voice scores (``None`` without a voice
        head) and which comments the voice head keeps from ``auto``. Features are computed once."""
        clean = [t if isinstance(t, str) else "" for t in texts]
        if not clean:
            return np.zeros(0), None, np.zeros(0, dtype=bool)
        x = self._transform(clean)
        scores = np.clip(self._urgent(x), 0.0, 1.0)
        voice = self._voice(x)
        return scores, voice, self._capped(scores, voice, clean)

    def _capped(self, scores: np.ndarray, voice: np.ndarray | None,
                texts: Sequence[str]) -> np.ndarray:
        """Held at ``review`` although the score reaches ``auto``: the voice head reads a report,
        or the text carries the press's own words and none of the writer's (no head needed)."""
        at_auto = scores >= self.thresholds["auto"]
        news = np.fromiter((bool(a) and reads_as_news(t) for a, t in zip(at_auto, texts,
                                                                          strict=True)),
                           dtype=bool, count=len(scores))
        if voice is None:
            return news
        return (at_auto & (voice >= self.voice_cut)) | news

    def predict(self, text: str) -> Prediction:
        """Score, band, category and explanation of one comment."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        """Like :meth:`predict` for many texts, processed ``batch_size`` at a time."""
        out: list[Prediction] = []
        size = max(1, int(batch_size))
        for start in range(0, len(texts), size):
            out.extend(self._predict_batch(texts[start : start + size]))
        return out

    def _predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        clean = [t if isinstance(t, str) else "" for t in texts]
        if not clean:
            return []
        x = self._transform(clean)
        scores = np.clip(self._urgent(x), 0.0, 1.0)
        voice = self._voice(x)
        capped = self._capped(scores, voice, clean)
        cat_proba = self._category_proba(x)
        classes = self.categories
        terms = self._top_terms(x)
        preds: list[Prediction] = []
        for i, score in enumerate(scores):
            j = int(np.argmax(cat_proba[i]))
            s = float(score)
            preds.append(
                Prediction(
                    score=s,
                    band=band_for(s, **self.thresholds, capped=bool(capped[i])),
                    category=classes[j],
                    category_score=float(cat_proba[i, j]),
                    top_terms=terms[i],
                    model_version=self.version,
                    voice=None if voice is None else float(voice[i]),
                    capped=self._cap_reason(voice, i) if capped[i] else "",
                )
            )
        return preds

    def _cap_reason(self, voice: np.ndarray | None, i: int) -> str:
        if voice is not None and voice[i] >= self.voice_cut:
            return CAP_REASON
        return NEWS_CAP_REASON

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(version={self.version!r}, thresholds={self.thresholds}, "
                f"voice_cut={self.voice_cut if self.has_voice else None})")


__all__ = ["ModelBase", "Terms", "expit"]
