"""``dianhua eval``: the model and the keyword baseline on one labeled file, side by side."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.baseline import KeywordBaseline
from classifiers.dataset import Example
from classifiers.metrics import Labels, Scores, at_threshold, average_precision, summary
from classifiers.model import UrgencyModel


def evaluate(
    model: UrgencyModel,
    rows: Sequence[Example],
    *,
    baseline: KeywordBaseline | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Metrics of the model at both thresholds, the keyword baseline, per tag and per category."""
    texts = [r.text for r in rows]
    y = [r.urgent for r in rows]
    preds = model.predict_many(texts, batch_size=batch_size)
    scores = np.array([p.score for p in preds])
    th = model.thresholds
    report: dict[str, Any] = {
        "model_version": model.version,
        "thresholds": th,
        "model": summary(y, scores, **th),
    }
    base_scores: list[float] = []
    if baseline is not None:
        base_scores = baseline.scores(texts)
        report["baseline"] = {
            "keywords": len(baseline),
            **at_threshold(y, base_scores, 0.5).to_dict(),
        }
    report["by_tag"] = _by_tag(rows, scores, base_scores, th)
    cats = [r.category for r in rows]
    if any(c is not None for c in cats):
        pairs = [(c, p.category) for c, p in zip(cats, preds, strict=True) if c is not None]
        report["category"] = {
            "n": len(pairs),
            "accuracy": round(sum(a == b for a, b in pairs) / len(pairs), 4),
            "per_category": _per_category(pairs),
        }
    report["_scores"] = scores.tolist()
    report["_baseline_scores"] = base_scores
    return report


def _by_tag(
    rows: Sequence[Example],
    scores: np.ndarray,
    base_scores: Sequence[float],
    th: dict[str, float],
) -> dict[str, dict[str, Any]]:
    idx: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        for tag in r.tags:
            idx[tag].append(i)
    out: dict[str, dict[str, Any]] = {}
    for tag in sorted(idx, key=lambda t: (-len(idx[t]), t)):
        ii = idx[tag]
        y = [rows[i].urgent for i in ii]
        s = scores[ii]
        rev = at_threshold(y, s, th["review"])
        auto = at_threshold(y, s, th["auto"])
        row: dict[str, Any] = {
            "n": len(ii),
            "urgent": sum(y),
            "review_recall": round(rev.recall, 4) if sum(y) else None,
            "review_fp": rev.fp,
            "auto_recall": round(auto.recall, 4) if sum(y) else None,
            "auto_fp": auto.fp,
        }
        if base_scores:
            b = at_threshold(y, [base_scores[i] for i in ii], 0.5)
            row["baseline_recall"] = round(b.recall, 4) if sum(y) else None
            row["baseline_fp"] = b.fp
        out[tag] = row
    return out


def _per_category(pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for cat in sorted({a for a, _ in pairs} | {b for _, b in pairs}):
        tp = sum(a == cat and b == cat for a, b in pairs)
        gold = sum(a == cat for a, _ in pairs)
        pred = sum(b == cat for _, b in pairs)
        out[cat] = {
            "n": gold,
            "precision": round(tp / pred, 4) if pred else None,
            "recall": round(tp / gold, 4) if gold else None,
        }
    return out


def pr_curve_png(
    y: Labels,
    scores: Scores,
    path: str | Path,
    *,
    thresholds: dict[str, float],
    baseline_scores: Scores = (),
    title: str = "",
) -> Path:
    """Precision-recall curve with the review/auto points and the keyword baseline marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    ya = np.asarray(y, dtype=int)
    if 0 < ya.sum() < len(ya):
        prec, rec, _ = precision_recall_curve(ya, np.asarray(scores, dtype=float))
        ap = average_precision(ya, scores)
        ax.plot(rec, prec, label=f"model (AP {ap:.3f})", color="#1f77b4")
    for name, marker, color in (("review", "o", "#ff7f0e"), ("auto", "s", "#2ca02c")):
        m = at_threshold(ya, scores, thresholds[name])
        ax.scatter(
            [m.recall], [m.precision], marker=marker, color=color, zorder=3, s=50,
            label=f"{name} ≥ {thresholds[name]:.3f}: P {m.precision:.3f} R {m.recall:.3f}",
        )
    if len(baseline_scores):
        b = at_threshold(ya, baseline_scores, 0.5)
        ax.scatter(
            [b.recall], [b.precision], marker="x", color="#d62728", zorder=3, s=60,
            label=f"keyword baseline: P {b.precision:.3f} R {b.recall:.3f}",
        )
    ax.axvline(0.97, color="#999", lw=0.8, ls=":")
    ax.axhline(0.95, color="#999", lw=0.8, ls=":")
    ax.set_xlabel("recall (share of urgent comments caught)")
    ax.set_ylabel("precision (share of flagged that are urgent)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or "urgent: precision-recall")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def render(report: dict[str, Any]) -> str:
    """A plain-text report for the terminal."""
    m = report["model"]
    th = report["thresholds"]
    lines = [
        f"model {report['model_version']} on {m['n']} comments ({m['urgent']} urgent); "
        f"average precision {m['average_precision']}",
        "",
        f"{'':22}{'precision':>10}{'recall':>8}{'F1':>7}{'TP':>6}{'FP':>6}{'FN':>6}{'TN':>6}",
    ]

    def row(label: str, d: dict[str, Any]) -> str:
        return (
            f"{label:22}{d['precision']:>10.3f}{d['recall']:>8.3f}{d['f1']:>7.3f}"
            f"{d['tp']:>6}{d['fp']:>6}{d['fn']:>6}{d['tn']:>6}"
        )

    lines.append(row(f"review ≥ {th['review']:.3f}", m["review"]))
    lines.append(row(f"auto   ≥ {th['auto']:.3f}", m["auto"]))
    if "baseline" in report:
        lines.append(row(f"keywords ({report['baseline']['keywords']})", report["baseline"]))
    t = m["meets_targets"]
    lines += [
        "",
        "targets: review recall ≥ 0.97 with precision ≥ 0.70: "
        + ("met" if t["review"] else "NOT met")
        + "; auto precision ≥ 0.95 with recall ≥ 0.75: "
        + ("met" if t["auto"] else "NOT met"),
    ]
    if report.get("by_tag"):
        lines += ["", f"{'tag':18}{'n':>5}{'urgent':>7}{'rev.R':>7}{'rev.FP':>7}"
                  f"{'auto.R':>7}{'auto.FP':>8}{'kw.R':>7}{'kw.FP':>6}"]
        for tag, d in report["by_tag"].items():
            def f(v: Any) -> str:
                return "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))

            lines.append(
                f"{tag[:18]:18}{d['n']:>5}{d['urgent']:>7}{f(d['review_recall']):>7}"
                f"{d['review_fp']:>7}{f(d['auto_recall']):>7}{d['auto_fp']:>8}"
                f"{f(d.get('baseline_recall')):>7}{f(d.get('baseline_fp')):>6}"
            )
    if "category" in report:
        c = report["category"]
        lines += ["", f"category accuracy {c['accuracy']:.3f} on {c['n']} comments"]
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: str | Path) -> Path:
    """``metrics.json`` (scores left out) in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    path = out / "metrics.json"
    path.write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


__all__ = ["evaluate", "pr_curve_png", "render", "write_report"]
