"""Pictures of one or two models on one labeled set: PR curves, calibration, score histograms.

Every training run draws them for the validation and test splits (``models/<v>/plots/``);
``dianhua model compare A B`` draws both models on one axis for every set it scores. Each
:class:`Curve` is one model's scores on the set; all curves of a picture share its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.metrics import at_threshold, average_precision

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


@dataclass(frozen=True)
class Curve:
    """One model's scores on a set, with its thresholds (for the review/auto points)."""

    label: str
    scores: Sequence[float] | np.ndarray
    thresholds: dict[str, float]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_png(y: Sequence[int], curves: Sequence[Curve], path: Path, title: str) -> Path:
    """Precision-recall curves of every model, with each one's review (o) and auto (s) points."""
    from sklearn.metrics import precision_recall_curve

    plt = _plt()
    ya = np.asarray(y, dtype=int)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for i, c in enumerate(curves):
        color = COLORS[i % len(COLORS)]
        s = np.asarray(c.scores, dtype=float)
        if 0 < ya.sum() < len(ya):
            prec, rec, _ = precision_recall_curve(ya, s)
            ax.plot(rec, prec, color=color, label=f"{c.label} (AP {average_precision(ya, s):.3f})")
        for name, marker in (("review", "o"), ("auto", "s")):
            m = at_threshold(ya, s, c.thresholds[name])
            ax.scatter([m.recall], [m.precision], marker=marker, color=color, zorder=3, s=45,
                       label=f"{name} ≥ {c.thresholds[name]:.3f}: P {m.precision:.2f} "
                             f"R {m.recall:.2f}")
    pr_axes(ax, title, legend_size=7)
    return _save(fig, plt, path)


def pr_axes(ax: Any, title: str, *, legend_size: int = 8) -> None:
    """The precision-recall picture's frame: the targets (recall 0.97, precision 0.95) dotted,
    axis names in words, both axes 0–1, legend at the lower left."""
    ax.axvline(0.97, color="#999", lw=0.8, ls=":")
    ax.axhline(0.95, color="#999", lw=0.8, ls=":")
    ax.set_xlabel("recall (share of urgent comments caught)")
    ax.set_ylabel("precision (share of flagged that are urgent)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=legend_size)


def calibration_png(y: Sequence[int], curves: Sequence[Curve], path: Path, title: str,
                    bins: int = 10) -> Path:
    """Reliability diagram: mean score vs share urgent in equal-width score bins."""
    plt = _plt()
    ya = np.asarray(y, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls=":", label="perfectly calibrated")
    edges = np.linspace(0.0, 1.0, bins + 1)
    for i, c in enumerate(curves):
        s = np.asarray(c.scores, dtype=float)
        which = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
        xs, ys, ns = [], [], []
        for b in range(bins):
            mask = which == b
            if mask.any():
                xs.append(float(s[mask].mean()))
                ys.append(float(ya[mask].mean()))
                ns.append(int(mask.sum()))
        color = COLORS[i % len(COLORS)]
        ax.plot(xs, ys, marker="o", color=color, label=c.label)
        for x, yv, n in zip(xs, ys, ns, strict=True):
            ax.annotate(str(n), (x, yv), fontsize=6, color=color, xytext=(3, -8),
                        textcoords="offset points")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("share urgent in bin (numbers: comments in bin)")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7)
    return _save(fig, plt, path)


def histogram_png(y: Sequence[int], curves: Sequence[Curve], path: Path, title: str) -> Path:
    """Score histograms, one panel per class, every model overlaid; threshold lines dashed."""
    plt = _plt()
    ya = np.asarray(y, dtype=int)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), dpi=100, sharex=True)
    edges = np.linspace(0.0, 1.0, 26)
    for ax, cls, name in ((axes[0], 1, "urgent"), (axes[1], 0, "not urgent")):
        for i, c in enumerate(curves):
            s = np.asarray(c.scores, dtype=float)[ya == cls]
            color = COLORS[i % len(COLORS)]
            ax.hist(s, bins=edges, histtype="step", lw=1.5, color=color,
                    label=f"{c.label} ({len(s)})")
            for th, ls in ((c.thresholds["review"], "--"), (c.thresholds["auto"], "-.")):
                ax.axvline(th, color=color, lw=0.8, ls=ls)
        ax.set_title(f"{name} comments")
        ax.set_xlabel("score (dashed: review, dash-dot: auto)")
        ax.legend(loc="upper center", fontsize=7)
    axes[0].set_ylabel("comments")
    fig.suptitle(title)
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_all(y: Sequence[int], curves: Sequence[Curve], out_dir: Path, name: str) -> list[Path]:
    """The three pictures for one set: ``<name>-pr.png``, ``-calibration.png``, ``-scores.png``."""
    title = f"{name}: " + " vs ".join(c.label for c in curves)
    return [
        pr_png(y, curves, out_dir / f"{name}-pr.png", title),
        calibration_png(y, curves, out_dir / f"{name}-calibration.png", title),
        histogram_png(y, curves, out_dir / f"{name}-scores.png", title),
    ]


__all__ = ["Curve", "calibration_png", "draw_all", "histogram_png", "pr_png"]
