"""The urgent-request model as the daemon and rules engine use it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot.errors import ModelError
from classifiers.calibration import WriterCalibratedClassifier
from classifiers.explain import Explainer, feature_names
from classifiers.features import FastFeatures
from classifiers.prediction import Prediction, band_for
from classifiers.voice import CAP_REASON, NEWS_CAP_REASON, NO_CAP, reads_as_news


def linear_coef(
    clf: WriterCalibratedClassifier | CalibratedClassifierCV | LogisticRegression,
) -> np.ndarray:
    """The linear model's coefficient vector (averaged over calibration folds if ensembled)."""
    if isinstance(clf, CalibratedClassifierCV):
        coefs = [np.asarray(c.estimator.coef_).ravel() for c in clf.calibrated_classifiers_]
        return np.mean(coefs, axis=0)
    return np.asarray(clf.coef_).ravel()


class UrgencyModel:
    """A fitted urgent-request pipeline, its category and voice heads, thresholds and card.

    ``urgent`` is a scikit-learn ``Pipeline`` (normalise → word/char tf-idf → calibrated
    logistic regression); ``category`` is a multinomial logistic regression over the same
    features; ``voice`` (optional, :mod:`classifiers.voice`) a binary logistic regression over
    the same features whose score at or above ``card["voice"]["cut"]`` caps ``auto`` at
    ``review``. Build one with :func:`classifiers.load_model` or :func:`classifiers.train.train`.
    """

    def __init__(
        self,
        urgent: Pipeline,
        category: LogisticRegression,
        card: dict[str, Any],
        voice: LogisticRegression | None = None,
    ) -> None:
        self.urgent_pipeline = urgent
        self.category_model = category
        self.voice_model = voice
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
        self._voice_w: np.ndarray | None = None
        self._voice_b: Any = 0.0
        if voice is not None:  # predict_proba as one sparse dot product, in the head's dtype
            self._voice_w = np.asarray(voice.coef_).ravel()
            self._voice_b = np.asarray(voice.intercept_).ravel()[0]
        self._features = urgent[:-1]
        # The same features with shared work (classifiers/features.py), when the shape allows.
        self._fast = FastFeatures.of(self._features)
        self._coef = linear_coef(urgent[-1])
        self._names: list[str] | None = None
        self._explainer: Explainer | None = None

    @property
    def version(self) -> str:
        return str(self.card.get("version", ""))

    @property
    def categories(self) -> list[str]:
        return [str(c) for c in self.category_model.classes_]

    def _feature_names(self) -> list[str]:
        if self._names is None:
            self._names = feature_names(self._features[-1])
        return self._names

    def _explain(self) -> Explainer:
        if self._explainer is None:
            self._explainer = Explainer(self._coef, self._feature_names())
        return self._explainer

    def _transform(self, clean: list[str]) -> Any:
        """The urgent pipeline's features of ``clean`` (computed once for every head)."""
        if self._fast is not None:
            return self._fast.transform(clean)
        return self._features.transform(clean)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated urgent probabilities for ``texts`` (no explanation; fastest path)."""
        clean = [t if isinstance(t, str) else "" for t in texts]
        if not clean:
            return np.zeros(0)
        x = self._transform(clean)
        return np.clip(self.urgent_pipeline[-1].predict_proba(x)[:, 1], 0.0, 1.0)

    def assess(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``(scores, voice, capped)``: urgent scores, voice scores (``None`` without a voice
        head) and which comments the voice head keeps from ``auto``. Features are computed once."""
        clean = [t if isinstance(t, str) else "" for t in texts]
        if not clean:
            return np.zeros(0), None, np.zeros(0, dtype=bool)
        x = self._transform(clean)
        scores = np.clip(self.urgent_pipeline[-1].predict_proba(x)[:, 1], 0.0, 1.0)
        voice = self._voice(x)
        return scores, voice, self._capped(scores, voice, clean)

    def _voice(self, x: Any) -> np.ndarray | None:
        """The voice head's probability (what its ``predict_proba(x)[:, 1]`` gives)."""
        if self._voice_w is None:
            return None
        z = np.asarray(x @ self._voice_w).ravel() + self._voice_b
        return np.asarray(expit(z), dtype=float)

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
        x = self._transform(clean)
        scores = np.clip(self.urgent_pipeline[-1].predict_proba(x)[:, 1], 0.0, 1.0)
        voice = self._voice(x)
        capped = self._capped(scores, voice, clean)
        cat_proba = self.category_model.predict_proba(x)
        classes = self.categories
        terms = self._explain().many(x.tocsr())
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
        return (f"UrgencyModel(version={self.version!r}, thresholds={self.thresholds}, "
                f"voice_cut={self.voice_cut if self.voice_model is not None else None})")


__all__ = ["UrgencyModel", "linear_coef"]
