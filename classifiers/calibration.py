"""Scores calibrated on held-out writers, and how to measure calibration.

:class:`WriterCalibratedClassifier` wraps a linear classifier. ``fit(X, y, groups=writers)``
cross-fits it by group k-fold (every fold's scores come from a model that never saw that
writer's comments), fits a sigmoid (Platt) or isotonic map from those held-out scores to
probabilities, then refits the classifier on everything. A writer's own habits therefore
cannot make the probabilities over-confident: they are calibrated the way an unseen writer
will be scored. Probabilities are bounded to ``[bound, 1 - bound]``, so the model never says
0 or 1.

:func:`expected_calibration_error` and :func:`reliability_bins` measure the result;
:func:`reliability_png` draws the diagram.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import _SigmoidCalibration
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold

DEFAULT_BOUND = 0.001


class WriterCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A linear classifier whose probabilities are calibrated on held-out groups (writers).

    Parameters: ``estimator`` (default ``LogisticRegression``), ``method`` (``"sigmoid"`` or
    ``"isotonic"``), ``n_folds`` (group folds; fewer when there are fewer groups), ``bound``
    (probabilities are kept within ``[bound, 1 - bound]``).

    Without ``groups`` (or with a single group) the folds are stratified, unshuffled k-fold,
    as ``CalibratedClassifierCV(cv=k, ensemble=False)`` would do. Deterministic.
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        method: str = "sigmoid",
        n_folds: int = 5,
        bound: float = DEFAULT_BOUND,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.n_folds = n_folds
        self.bound = bound

    def _folds(self, X: Any, y: np.ndarray, groups: Sequence[Any] | None) -> list[Any]:
        if groups is not None and len(set(groups)) >= 2:
            n_groups = len(set(groups))
            k = max(2, min(self.n_folds, n_groups))
            folds = list(GroupKFold(n_splits=k).split(X, y, groups))
            if all(len(set(y[train])) == 2 for train, _ in folds):
                self.fold_kind_ = f"group k-fold by writer ({k} folds, {n_groups} writers)"
                return folds
            why = "a writer fold left one class"
        else:
            why = "no writer groups"
        k = max(2, min(self.n_folds, int(np.bincount(y).min())))
        self.fold_kind_ = f"stratified k-fold ({k} folds; {why})"
        return list(StratifiedKFold(n_splits=k).split(X, y))

    def fit(
        self, X: Any, y: Sequence[int] | np.ndarray, groups: Sequence[Any] | None = None,
        sample_weight: Sequence[float] | np.ndarray | None = None,
    ) -> WriterCalibratedClassifier:
        """``sample_weight`` (e.g. editors' labels weighing 2) reaches every linear fit."""
        if self.method not in ("sigmoid", "isotonic"):
            raise ValueError(f"method must be 'sigmoid' or 'isotonic', got {self.method!r}")
        if not 0.0 < self.bound < 0.5:
            raise ValueError(f"bound must be in (0, 0.5), got {self.bound!r}")
        ya = np.asarray(y, dtype=int)
        base = self.estimator if self.estimator is not None else LogisticRegression()
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        held_out = np.zeros(len(ya), dtype=float)
        for train_idx, test_idx in self._folds(X, ya, groups):
            est = clone(base).fit(X[train_idx], ya[train_idx],
                                  **({} if w is None else {"sample_weight": w[train_idx]}))
            held_out[test_idx] = est.decision_function(X[test_idx])
        if self.method == "sigmoid":
            cal: Any = _SigmoidCalibration().fit(held_out, ya)
        else:
            cal = IsotonicRegression(
                out_of_bounds="clip", y_min=self.bound, y_max=1.0 - self.bound
            ).fit(held_out, ya)
        self.calibrator_ = cal
        self.estimator_ = clone(base).fit(X, ya, **({} if w is None else {"sample_weight": w}))
        self.classes_ = self.estimator_.classes_
        self.held_out_proba_ = self._bounded(cal.predict(held_out))
        return self

    def _bounded(self, p: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(p, dtype=float), self.bound, 1.0 - self.bound)

    @property
    def coef_(self) -> np.ndarray:
        return np.asarray(self.estimator_.coef_)

    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(self.estimator_.decision_function(X), dtype=float)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self._bounded(self.calibrator_.predict(self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_)[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("held_out_proba_", None)  # training-time only; not shipped in the model
        return state


def reliability_bins(
    y: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, n_bins: int = 10
) -> list[dict[str, Any]]:
    """Equal-width bins over [0, 1]: count, mean score and observed urgent share per bin."""
    ya = np.asarray(y, dtype=float)
    pa = np.asarray(p, dtype=float)
    idx = np.minimum((pa * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        n = int(m.sum())
        out.append({
            "lo": round(b / n_bins, 4),
            "hi": round((b + 1) / n_bins, 4),
            "n": n,
            "mean_score": round(float(pa[m].mean()), 4) if n else None,
            "urgent_share": round(float(ya[m].mean()), 4) if n else None,
        })
    return out


def expected_calibration_error(
    y: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, n_bins: int = 10
) -> float:
    """ECE: the count-weighted mean |urgent share − mean score| over equal-width bins."""
    total = len(np.asarray(y))
    if total == 0:
        return float("nan")
    gap = 0.0
    for b in reliability_bins(y, p, n_bins):
        if b["n"]:
            gap += b["n"] * abs(b["urgent_share"] - b["mean_score"])
    return round(gap / total, 4)


def reliability_png(
    curves: dict[str, tuple[Sequence[int] | np.ndarray, Sequence[float] | np.ndarray]],
    path: str | Path,
    *,
    n_bins: int = 10,
    title: str = "",
) -> Path:
    """Reliability diagram: observed urgent share against mean score per bin, one line a set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax, hx) = plt.subplots(
        2, 1, figsize=(6, 6.5), dpi=110, gridspec_kw={"height_ratios": [3, 1]}, sharex=True
    )
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls=":", label="perfectly calibrated")
    for name, (y, p) in curves.items():
        bins = [b for b in reliability_bins(y, p, n_bins) if b["n"]]
        ece = expected_calibration_error(y, p, n_bins)
        line = ax.plot(
            [b["mean_score"] for b in bins], [b["urgent_share"] for b in bins],
            marker="o", ms=4, label=f"{name} (n {len(np.asarray(y))}, ECE {ece:.3f})",
        )
        hx.hist(np.asarray(p, dtype=float), bins=n_bins, range=(0, 1), histtype="step",
                color=line[0].get_color())
    ax.set_ylabel("observed share urgent")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "urgent score: reliability")
    ax.legend(loc="upper left", fontsize=8)
    hx.set_yscale("log")
    hx.set_xlabel("urgent score (10 equal-width bins)")
    hx.set_ylabel("comments")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


__all__ = [
    "DEFAULT_BOUND",
    "WriterCalibratedClassifier",
    "expected_calibration_error",
    "reliability_bins",
    "reliability_png",
]
