"""``dianhua eval``: the model and the keyword baseline on labeled files.

:func:`evaluate` gives the full report of one file (both thresholds, keyword baseline, per
tag, per category, calibration). :func:`evaluate_slices` scores several named sets side by
side (the authored test split, real requests, real posts) and the per-frame slices of the
authored set (question-framed urgent comments, reported speech and news), the way the model
will meet the world; a set whose file is missing is reported as skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.base import ModelBase
from classifiers.baseline import KeywordBaseline
from classifiers.calibration import expected_calibration_error, reliability_bins
from classifiers.dataset import Example, read_jsonl
from classifiers.metrics import (
    TARGETS,
    Labels,
    Scores,
    at_threshold,
    average_precision,
    capped_scores,
    summary,
)
from classifiers.prediction import band_for


def evaluate(
    model: ModelBase,
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
    capped = np.array([bool(p.capped) for p in preds], dtype=bool)
    th = model.thresholds
    auto_scores = capped_scores(scores, capped, th["auto"])
    report: dict[str, Any] = {
        "model_version": model.version,
        "thresholds": th,
        "model": summary(y, scores, **th, capped=capped),
        "voice_capped": int(capped.sum()),
    }
    report["calibration"] = {
        "ece": expected_calibration_error(y, scores),
        "bins": reliability_bins(y, scores),
    }
    base_scores: list[float] = []
    if baseline is not None:
        base_scores = baseline.scores(texts)
        report["baseline"] = {
            "keywords": len(baseline),
            **at_threshold(y, base_scores, 0.5).to_dict(),
        }
    report["by_tag"] = _by_tag(rows, scores, base_scores, th, auto_scores)
    cats = [r.category for r in rows]
    if any(c is not None for c in cats):
        pairs = [(c, p.category) for c, p in zip(cats, preds, strict=True) if c is not None]
        report["category"] = {
            "n": len(pairs),
            "accuracy": round(sum(a == b for a, b in pairs) / len(pairs), 4),
            "per_category": _per_category(pairs),
        }
    report["_scores"] = scores.tolist()
    report["_auto_scores"] = auto_scores.tolist()
    report["_baseline_scores"] = base_scores
    return report


def _by_tag(
    rows: Sequence[Example],
    scores: np.ndarray,
    base_scores: Sequence[float],
    th: dict[str, float],
    auto_scores: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    a_all = scores if auto_scores is None else auto_scores
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
        auto = at_threshold(y, a_all[ii], th["auto"])
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
    auto_scores: Scores | None = None,
) -> Path:
    """Precision-recall curve with the review/auto points and the keyword baseline marked.

    ``auto_scores`` (scores with voice-capped comments held below ``auto``) place the auto point.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    from classifiers.plots import pr_axes

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    ya = np.asarray(y, dtype=int)
    if 0 < ya.sum() < len(ya):
        prec, rec, _ = precision_recall_curve(ya, np.asarray(scores, dtype=float))
        ap = average_precision(ya, scores)
        ax.plot(rec, prec, label=f"model (AP {ap:.3f})", color="#1f77b4")
    for name, marker, color in (("review", "o", "#ff7f0e"), ("auto", "s", "#2ca02c")):
        use = auto_scores if name == "auto" and auto_scores is not None else scores
        m = at_threshold(ya, use, thresholds[name])
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
    pr_axes(ax, title or "urgent: precision-recall")
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
    if report.get("voice_capped"):
        lines.append(f"(auto also needs the voice head to read a request: "
                     f"{report['voice_capped']} comments at auto by score were held at review)")
    if "baseline" in report:
        lines.append(row(f"keywords ({report['baseline']['keywords']})", report["baseline"]))
    t = m["meets_targets"]
    if "calibration" in report:
        lines += ["", f"expected calibration error (10 bins) {report['calibration']['ece']:.4f}"]
    lines += [
        "",
        f"targets: review recall ≥ {TARGETS['review']['min_recall']:g} with precision ≥ "
        f"{TARGETS['review']['min_precision']:.2f}: "
        + ("met" if t["review"] else "NOT met")
        + f"; auto precision ≥ {TARGETS['auto']['min_precision']:g} with recall ≥ "
        f"{TARGETS['auto']['min_recall']:g}: "
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


# Frames and voices, read from the corpus tags (data/README.md lists them).
NEWS_TAGS = frozenset({
    "news", "news_like", "notice", "headline", "official", "statement", "policy", "case_news",
    "hospital_notice", "pasted_article", "news_sentence", "official_response", "statistic",
    "timeline", "reader_paste", "self_media", "local_tv", "academic", "hospital_pr",
    "reporter_note", "foreign_media",
})
# Voices the first rounds lacked (parts k and n): terse, dialect, voice-to-text, help platforms.
OTHER_VOICE_TAGS = frozenset({
    "help_platform", "telegraphic", "structured", "in_transit", "no_pronoun", "terse",
    "voice_to_text", "cantonese", "northeastern", "traditional", "misspelled", "long_post",
    "polite",
})
REPORTED_TAGS = frozenset({"reported_speech", "retelling", "quote", "commentary", "opinion"})


@dataclass(frozen=True)
class FrameSlice:
    """A named subset of a labeled set, chosen by tags."""

    name: str
    keep: Callable[[Example], bool]
    urgent: bool  # True: report recall at review/auto; False: report the share flagged


def _tagged(r: Example, tags: frozenset[str]) -> bool:
    return not tags.isdisjoint(r.tags)


FRAME_SLICES: tuple[FrameSlice, ...] = (
    FrameSlice("question-framed urgent", lambda r: r.urgent == 1 and "question_frame" in r.tags,
               True),
    FrameSlice("question-framed, not urgent",
               lambda r: r.urgent == 0 and "question_frame" in r.tags, False),
    FrameSlice("first-person urgent", lambda r: r.urgent == 1 and "first_person" in r.tags, True),
    FrameSlice("other voices urgent (terse, dialect…)",
               lambda r: r.urgent == 1 and _tagged(r, OTHER_VOICE_TAGS), True),
    FrameSlice("news / official voice, not urgent",
               lambda r: r.urgent == 0 and _tagged(r, NEWS_TAGS), False),
    FrameSlice("retelling / quote / comment, not urgent",
               lambda r: r.urgent == 0 and _tagged(r, REPORTED_TAGS), False),
    FrameSlice("thanks / resolved, not urgent",
               lambda r: r.urgent == 0 and _tagged(r, frozenset({"thanks", "resolved"})), False),
    FrameSlice("joke, not urgent", lambda r: r.urgent == 0 and "joke" in r.tags, False),
)
# Rows listed one by one when a set is this small (real requests).
LIST_ROWS_UP_TO = 20


@dataclass(frozen=True)
class EvalSet:
    """A named labeled set for :func:`evaluate_slices`: rows, or a path to read them from."""

    name: str
    path: Path | None = None
    rows: Sequence[Example] | None = None
    must_reach_auto: tuple[str, ...] = ()  # ids that should be at `auto`


def load_set(spec: EvalSet) -> tuple[list[Example] | None, str | None]:
    """The rows of a set, or ``(None, why)`` when it is skipped."""
    if spec.rows is not None:
        return list(spec.rows), None
    if spec.path is None:
        return None, "no file given"
    if not spec.path.is_file():
        return None, f"{spec.path} not found"
    rows, _problems = read_jsonl(spec.path)
    if not rows:
        return None, f"{spec.path}: no valid lines"
    return rows, None


def _flag_counts(scores: np.ndarray, th: Mapping[str, float],
                 auto_scores: np.ndarray | None = None) -> dict[str, Any]:
    n = len(scores)
    rev = int(np.sum(scores >= th["review"]))
    auto = int(np.sum((scores if auto_scores is None else auto_scores) >= th["auto"]))
    return {
        "at_review": rev,
        "at_auto": auto,
        "share_review": round(rev / n, 4) if n else None,
        "share_auto": round(auto / n, 4) if n else None,
    }


def frame_slices(
    rows: Sequence[Example], scores: np.ndarray, th: Mapping[str, float],
    auto_scores: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Each :data:`FRAME_SLICES` entry with rows in ``rows``: size and how many reach each band."""
    out: dict[str, dict[str, Any]] = {}
    for sl in FRAME_SLICES:
        idx = [i for i, r in enumerate(rows) if sl.keep(r)]
        if not idx:
            continue
        a = None if auto_scores is None else auto_scores[idx]
        entry: dict[str, Any] = {"n": len(idx), "urgent": sl.urgent,
                                 **_flag_counts(scores[idx], th, a)}
        out[sl.name] = entry
    return out


def evaluate_slices(
    model: ModelBase,
    sets: Sequence[EvalSet],
    *,
    frames_of: str | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Score each set; metrics, calibration and (small sets) every row; frames of ``frames_of``.

    Returns ``{"model_version", "thresholds", "sets": {name: …}, "frames": {…}}``; a set whose
    file is missing has ``{"skipped": why}``. Scores are kept under ``_scores``/``_labels``
    (left out of ``metrics.json``) for plots.
    """
    th = model.thresholds
    report: dict[str, Any] = {"model_version": model.version, "thresholds": th, "sets": {},
                              "frames": {},
                              "voice_cut": model.voice_cut if model.has_voice
                              else None}
    for spec in sets:
        rows, why = load_set(spec)
        if not rows:
            why = why or "no rows"
            report["sets"][spec.name] = {"skipped": why,
                                         "path": str(spec.path) if spec.path else None}
            continue
        scores, voice, capped = model.assess([r.text for r in rows])
        auto_scores = capped_scores(scores, capped, th["auto"])
        y = [r.urgent for r in rows]
        entry: dict[str, Any] = {
            "path": str(spec.path) if spec.path else None,
            "n": len(rows),
            "urgent": int(sum(y)),
            **_flag_counts(scores, th, auto_scores),
            "voice_capped": int(capped.sum()),
        }
        if 0 < sum(y) < len(y):
            entry["metrics"] = summary(y, scores, **th, capped=capped)
        elif sum(y):
            entry["recall"] = {
                "review": round(at_threshold(y, scores, th["review"]).recall, 4),
                "auto": round(at_threshold(y, auto_scores, th["auto"]).recall, 4),
            }
        entry["ece"] = expected_calibration_error(y, scores)
        entry["min_score"] = round(float(scores.min()), 6)
        entry["max_score"] = round(float(scores.max()), 6)
        if len(rows) <= LIST_ROWS_UP_TO:
            entry["rows"] = [
                {"id": r.id, "urgent": r.urgent, "score": round(float(s), 4),
                 "voice": None if voice is None else round(float(voice[i]), 4),
                 "band": band_for(float(s), **th, capped=bool(capped[i]))}
                for i, (r, s) in enumerate(zip(rows, scores, strict=True))
            ]
        if spec.must_reach_auto:
            ids = {r.id: float(s) for r, s in zip(rows, auto_scores, strict=True)}
            want = [i for i in spec.must_reach_auto if i in ids]
            entry["must_reach_auto"] = {
                "ids": want, "at_auto": sum(ids[i] >= th["auto"] for i in want)}
        entry["_scores"] = scores.tolist()
        entry["_labels"] = y
        report["sets"][spec.name] = entry
        if spec.name == frames_of:
            report["frames"] = frame_slices(rows, scores, th, auto_scores)
    return report


def render_slices(report: dict[str, Any]) -> str:
    """The slices report as plain text."""
    th = report["thresholds"]
    lines = [
        f"model {report['model_version']}; review ≥ {th['review']:.4f}, auto ≥ {th['auto']:.4f}"
        + (f" and voice < {report['voice_cut']:.4f}" if report.get("voice_cut") is not None
           else ""),
        "",
        f"{'set':24}{'n':>6}{'urgent':>7}{'AP':>7}{'rev.R':>7}{'rev.P':>7}{'auto.R':>7}"
        f"{'auto.P':>7}{'ECE':>7}",
    ]

    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    for name, e in report["sets"].items():
        if "skipped" in e:
            lines.append(f"{name[:24]:24}  skipped: {e['skipped']}")
            continue
        m = e.get("metrics")
        if m:
            cells = [m["average_precision"], m["review"]["recall"], m["review"]["precision"],
                     m["auto"]["recall"], m["auto"]["precision"]]
        elif "recall" in e:
            cells = [None, e["recall"]["review"], None, e["recall"]["auto"], None]
        else:
            cells = [None] * 5
        lines.append(f"{name[:24]:24}{e['n']:>6}{e['urgent']:>7}"
                     + "".join(f"{f(c):>7}" for c in cells) + f"{f(e['ece']):>7}")
    negatives = [(name, e) for name, e in report["sets"].items()
                 if "skipped" not in e and e["urgent"] == 0]
    if negatives:
        lines += ["", "not-urgent sets (a public reply is an `auto`):"]
        for name, e in negatives:
            lines.append(f"  {name[:30]:30} n {e['n']:>5}  at review {e['at_review']:>4} "
                         f"({e['share_review']:.3f})  at auto {e['at_auto']:>4} "
                         f"({e['share_auto']:.3f})")
    for name, e in report["sets"].items():
        if "rows" in e:
            lines += ["", f"{name}, one by one:"]
            for r in e["rows"]:
                v = "" if r.get("voice") is None else f"  voice {r['voice']:.3f}"
                lines.append(f"  {r['id']:12} urgent={r['urgent']}  score {r['score']:.4f}{v}  "
                             f"{r['band']}")
            if "must_reach_auto" in e:
                w = e["must_reach_auto"]
                lines.append(f"  at auto: {w['at_auto']} of {len(w['ids'])} that should be "
                             f"({', '.join(w['ids'])})")
    if report.get("frames"):
        lines += ["", f"{'frame slice (authored test)':38}{'n':>5}{'at review':>11}"
                      f"{'at auto':>9}"]
        for name, e in report["frames"].items():
            lines.append(f"{name[:38]:38}{e['n']:>5}{e['at_review']:>5} ({e['share_review']:.2f})"
                         f"{e['at_auto']:>4} ({e['share_auto']:.2f})")
        lines.append("(urgent slices: the share caught; not-urgent slices: the share flagged)")
    return "\n".join(lines)


def write_slices(report: dict[str, Any], out_dir: str | Path) -> Path:
    """``slices.json`` in ``out_dir`` (scores left out)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    public = {
        **{k: v for k, v in report.items() if k != "sets"},
        "sets": {name: {k: v for k, v in e.items() if not k.startswith("_")}
                 for name, e in report["sets"].items()},
    }
    path = out / "slices.json"
    path.write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def write_report(report: dict[str, Any], out_dir: str | Path) -> Path:
    """``metrics.json`` (scores left out) in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    path = out / "metrics.json"
    path.write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


__all__ = [
    "FRAME_SLICES",
    "NEWS_TAGS",
    "OTHER_VOICE_TAGS",
    "REPORTED_TAGS",
    "EvalSet",
    "FrameSlice",
    "evaluate",
    "evaluate_slices",
    "frame_slices",
    "load_set",
    "pr_curve_png",
    "render",
    "render_slices",
    "write_report",
    "write_slices",
]
