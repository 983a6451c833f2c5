"""The urgent-request model as the daemon and rules engine use it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot.errors import ModelError
from classifiers.calibration import WriterCalibratedClassifier
from classifiers.explain import Explainer, feature_names
from classifiers.prediction import Prediction, band_for


def linear_coef(
    clf: WriterCalibratedClassifier | CalibratedClassifierCV | LogisticRegression,
) -> np.ndarray:
    """The linear model's coefficient vector (averaged over calibration folds if ensembled)."""
    if isinstance(clf, CalibratedClassifierCV):
        coefs = [np.asarray(c.estimator.coef_).ravel() for c in clf.calibrated_classifiers_]
        return np.mean(coefs, axis=0)
    return np.asarray(clf.coef_).ravel()


class UrgencyModel:
    """A fitted urgent-request pipeline, its category head, thresholds and card.

    ``urgent`` is a scikit-learn ``Pipeline`` (normalise → word/char tf-idf → calibrated
    logistic regression); ``category`` is a multinomial logistic regression over the same
    features. Build one with :func:`classifiers.load_model` or :func:`classifiers.train.train`.
    """

    def __init__(
        self, urgent: Pipeline, category: LogisticRegression, card: dict[str, Any]
    ) -> None:
        self.urgent_pipeline = urgent
        self.category_model = category
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
        self._features = urgent[:-1]
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

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated urgent probabilities for ``texts`` (no explanation; fastest path)."""
        clean = [t if isinstance(t, str) else "" for t in texts]
        if not clean:
            return np.zeros(0)
        x = self._features.transform(clean)
        return np.clip(self.urgent_pipeline[-1].predict_proba(x)[:, 1], 0.0, 1.0)

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
        x = self._features.transform(clean)
        scores = np.clip(self.urgent_pipeline[-1].predict_proba(x)[:, 1], 0.0, 1.0)
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
                    band=band_for(s, **self.thresholds),
                    category=classes[j],
                    category_score=float(cat_proba[i, j]),
                    top_terms=terms[i],
                    model_version=self.version,
                )
            )
        return preds

    def __repr__(self) -> str:
        return f"UrgencyModel(version={self.version!r}, thresholds={self.thresholds})"


__all__ = ["UrgencyModel", "linear_coef"]
