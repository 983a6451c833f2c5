"""The urgent-request model with its fitted scikit-learn estimators (training, evaluation,
anything that refits). For scoring, :func:`classifiers.load_model` returns the same model
computed without scikit-learn (:mod:`classifiers.lean`); both share :class:`ModelBase`."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from classifiers.base import ModelBase, Terms
from classifiers.calibration import WriterCalibratedClassifier
from classifiers.explain import Explainer, feature_names
from classifiers.features import FastFeatures


def linear_coef(
    clf: WriterCalibratedClassifier | CalibratedClassifierCV | LogisticRegression,
) -> np.ndarray:
    """The linear model's coefficient vector (averaged over calibration folds if ensembled)."""
    if isinstance(clf, CalibratedClassifierCV):
        coefs = [np.asarray(c.estimator.coef_).ravel() for c in clf.calibrated_classifiers_]
        return np.mean(coefs, axis=0)
    return np.asarray(clf.coef_).ravel()


class UrgencyModel(ModelBase):
    """A fitted urgent-request pipeline, its category and voice heads, thresholds and card.

    ``urgent`` is a scikit-learn ``Pipeline`` (normalise → word/char tf-idf → calibrated
    logistic regression); ``category`` is a multinomial logistic regression over the same
    features; ``voice`` (optional, :mod:`classifiers.voice`) a binary logistic regression over
    the same features whose score at or above ``card["voice"]["cut"]`` caps ``auto`` at
    ``review``. Build one with ``classifiers.load_model(full=True)`` or
    :func:`classifiers.train.train`.
    """

    def __init__(
        self,
        urgent: Pipeline,
        category: LogisticRegression,
        card: dict[str, Any],
        voice: LogisticRegression | None = None,
    ) -> None:
        super().__init__(card)
        self.urgent_pipeline = urgent
        self.category_model = category
        self.voice_model = voice
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
    def categories(self) -> list[str]:
        return [str(c) for c in self.category_model.classes_]

    @property
    def has_voice(self) -> bool:
        return self.voice_model is not None

    def _feature_names(self) -> list[str]:
        if self._names is None:
            self._names = feature_names(self._features[-1])
        return self._names

    def _explain(self) -> Explainer:
        if self._explainer is None:
            self._explainer = Explainer(self._coef, self._feature_names())
        return self._explainer

    def _transform(self, clean: list[str]) -> Any:
        if self._fast is not None:
            return self._fast.transform(clean)
        return self._features.transform(clean)

    def _urgent(self, x: Any) -> np.ndarray:
        return np.asarray(self.urgent_pipeline[-1].predict_proba(x)[:, 1])

    def _voice(self, x: Any) -> np.ndarray | None:
        """The voice head's probability (what its ``predict_proba(x)[:, 1]`` gives)."""
        if self._voice_w is None:
            return None
        z = np.asarray(x @ self._voice_w).ravel() + self._voice_b
        return np.asarray(expit(z), dtype=float)

    def _category_proba(self, x: Any) -> np.ndarray:
        return np.asarray(self.category_model.predict_proba(x))

    def _top_terms(self, x: Any) -> list[Terms]:
        return self._explain().many(x.tocsr())


__all__ = ["UrgencyModel", "linear_coef"]
