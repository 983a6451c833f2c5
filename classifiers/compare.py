"""Two models on the same labeled sets: per-slice recall and precision, band changes, the gate.

``dianhua model compare A B`` and ``dianhua model promote V`` (which compares the live model
with V) use this. Each model is scored with its *own* thresholds, so the question is always
"what would editors and readers see if B replaced A".

Sets: the authored test split (``data/test.jsonl``), the real requests
(``../shared/data/real-requests.jsonl``; skipped with a note when absent) and the newest real
labels (the candidate's held-out ``real_test.jsonl`` and any ``--real`` file).

Slices: each whole set, and within the authored test split each tag with at least
:data:`MIN_SLICE_URGENT` urgent comments.

**The gate** (``promote`` refuses unless ``--force`` with a reason): B loses a slice when it
catches fewer of its urgent comments at ``review`` than A does; on a whole set (with at least
:data:`MIN_SLICE_URGENT` urgent comments) B also loses when its precision at ``auto`` falls
below the 0.95 target that A meets (a model that flags everything keeps its recall but would
answer publicly under jokes); and B must not drop a real request that A puts at ``review`` or
above below ``review``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot import pii
from classifiers.base import ModelBase
from classifiers.dataset import Example, read_jsonl
from classifiers.metrics import TARGETS, at_threshold
from classifiers.paths import REPO_DIR
from classifiers.prediction import band_for

MIN_SLICE_URGENT = 10
AUTO_PRECISION = TARGETS["auto"]["min_precision"]  # 0.95: public replies under non-requests
REAL_REQUESTS_ENV = "DIANHUA_REAL_REQUESTS"
REAL_REQUESTS = "real-requests"


def real_requests_path() -> Path | None:
    """``$DIANHUA_REAL_REQUESTS``, else ``../shared/data/real-requests.jsonl`` near here."""
    env = os.environ.get(REAL_REQUESTS_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    rel = Path("shared") / "data" / "real-requests.jsonl"
    for base in (Path.cwd().parent, REPO_DIR.parent, REPO_DIR.parent.parent):
        if (base / rel).is_file():
            return base / rel
    return None


@dataclass
class Side:
    caught: int  # urgent comments at >= review
    recall_review: float
    flagged_auto: int
    precision_auto: float


@dataclass
class Slice:
    name: str
    n: int
    urgent: int
    a: Side
    b: Side

    whole: bool = False  # a whole set (not a tag within one)

    @property
    def lost(self) -> bool:
        return self.b.caught < self.a.caught

    @property
    def lost_auto(self) -> bool:
        """A whole set where B's public replies fall below the precision target A meets."""
        return (self.whole and self.urgent >= MIN_SLICE_URGENT
                and self.a.precision_auto >= AUTO_PRECISION > self.b.precision_auto)


@dataclass
class Comparison:
    a: str
    b: str
    slices: list[Slice] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    dropped_requests: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scored: dict[str, tuple[list[int], list[float], list[float]]] = field(default_factory=dict)
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)

    def refusals(self) -> list[str]:
        """Why ``promote`` would refuse B (empty: it may go live)."""
        out = [
            f"slice {s.name!r}: recall at review {s.a.recall_review:.3f} → {s.b.recall_review:.3f}"
            f" ({s.a.caught} → {s.b.caught} of {s.urgent} urgent caught)"
            for s in self.slices if s.lost
        ]
        out += [
            f"slice {s.name!r}: precision at auto {s.a.precision_auto:.3f} → "
            f"{s.b.precision_auto:.3f} (below the {AUTO_PRECISION:.2f} target the live model meets)"
            for s in self.slices if s.lost_auto
        ]
        out += [
            f"real request {d['id']} drops below review ({d['score_a']:.3f} → {d['score_b']:.3f})"
            for d in self.dropped_requests
        ]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "thresholds": self.thresholds,
            "slices": [{**asdict(s), "lost": s.lost, "lost_auto": s.lost_auto}
                       for s in self.slices],
            "band_changes": self.changes, "dropped_real_requests": self.dropped_requests,
            "notes": self.notes, "refusals": self.refusals(),
        }


def load_sets(test: Path | None, real_requests: Path | None,
              real_labels: Sequence[Path]) -> tuple[dict[str, list[Example]], list[str]]:
    """The labeled sets to score, by name, and notes about the ones that were skipped."""
    sets: dict[str, list[Example]] = {}
    notes: list[str] = []
    if test is not None:
        rows, _ = read_jsonl(test)
        sets["test"] = rows
    if real_requests is not None and real_requests.is_file():
        rows, _ = read_jsonl(real_requests)
        sets[REAL_REQUESTS] = rows
    else:
        notes.append("real requests skipped: ../shared/data/real-requests.jsonl not found "
                     f"(set ${REAL_REQUESTS_ENV})")
    labels: list[Example] = []
    for path in real_labels:
        rows, _ = read_jsonl(path)
        labels.extend(rows)
    if labels:
        sets["real-labels"] = labels
    else:
        notes.append("no real labels to score (train with --add, or pass --real FILE)")
    return sets, notes


def _side(y: np.ndarray, s: np.ndarray, th: dict[str, float], capped: np.ndarray) -> Side:
    rev = at_threshold(y, s, th["review"])
    # a comment the voice head keeps at review does not count as answered in public
    auto = at_threshold(y, np.where(capped, np.minimum(s, th["auto"] / 2), s), th["auto"])
    return Side(rev.tp, round(rev.recall, 4), auto.flagged, round(auto.precision, 4))


def compare(a: ModelBase, b: ModelBase, sets: dict[str, list[Example]],
            notes: Sequence[str] = (), *, min_slice_urgent: int = MIN_SLICE_URGENT
            ) -> Comparison:
    """Score both models on every set; slices, band changes and dropped real requests."""
    out = Comparison(a.version, b.version, notes=list(notes),
                     thresholds={"a": dict(a.thresholds), "b": dict(b.thresholds)})
    for name, rows in sets.items():
        if not rows:
            continue
        texts = [r.text for r in rows]
        y = np.array([r.urgent for r in rows], dtype=int)
        sa, _, ca = a.assess(texts)
        sb, _, cb = b.assess(texts)
        out.scored[name] = (y.tolist(), sa.tolist(), sb.tolist())
        groups: list[tuple[str, np.ndarray]] = [(name, np.arange(len(rows)))]
        if name == "test":
            tags: dict[str, list[int]] = {}
            for i, r in enumerate(rows):
                for t in r.tags:
                    tags.setdefault(t, []).append(i)
            for tag in sorted(tags):
                idx = np.array(tags[tag])
                if int(y[idx].sum()) >= min_slice_urgent:
                    groups.append((f"test:{tag}", idx))
        for label, idx in groups:
            out.slices.append(Slice(label, len(idx), int(y[idx].sum()),
                                    _side(y[idx], sa[idx], a.thresholds, ca[idx]),
                                    _side(y[idx], sb[idx], b.thresholds, cb[idx]),
                                    whole=label == name))
        for i, r in enumerate(rows):
            ba = band_for(float(sa[i]), review=a.thresholds["review"],
                          auto=a.thresholds["auto"], capped=bool(ca[i]))
            bb = band_for(float(sb[i]), review=b.thresholds["review"],
                          auto=b.thresholds["auto"], capped=bool(cb[i]))
            if ba != bb:
                out.changes.append({"set": name, "id": r.id, "urgent": r.urgent,
                                    "text": pii.mask(r.text), "score_a": round(float(sa[i]), 4),
                                    "band_a": ba, "score_b": round(float(sb[i]), 4),
                                    "band_b": bb})
            if (name == REAL_REQUESTS and r.urgent and ba != "below" and bb == "below"):
                out.dropped_requests.append({"id": r.id, "score_a": float(sa[i]),
                                             "score_b": float(sb[i])})
    return out


_ORDER = {"below": 0, "review": 1, "auto": 2}


def render(c: Comparison, show: int = 20) -> str:
    """The terminal report: one row per slice, then the comments that change band."""
    lines = [f"A = {c.a}  (review {c.thresholds['a']['review']:.3f}, auto "
             f"{c.thresholds['a']['auto']:.3f})",
             f"B = {c.b}  (review {c.thresholds['b']['review']:.3f}, auto "
             f"{c.thresholds['b']['auto']:.3f})", "",
             f"{'slice':24}{'n':>6}{'urgent':>7}{'A rec@rev':>11}{'B rec@rev':>11}"
             f"{'A prec@auto':>13}{'B prec@auto':>13}"]
    for s in c.slices:
        mark = "  LOST" if s.lost or s.lost_auto else ""
        lines.append(f"{s.name[:24]:24}{s.n:>6}{s.urgent:>7}{s.a.recall_review:>11.3f}"
                     f"{s.b.recall_review:>11.3f}{s.a.precision_auto:>13.3f}"
                     f"{s.b.precision_auto:>13.3f}{mark}")
    up = sum(_ORDER[ch["band_b"]] > _ORDER[ch["band_a"]] for ch in c.changes)
    lines += ["", f"{len(c.changes)} comments change band ({up} up, {len(c.changes) - up} down)"
              + (":" if c.changes else "")]
    for ch in c.changes[:show]:
        label = "urgent" if ch["urgent"] else "not urgent"
        lines.append(f"  [{ch['set']}] {ch['band_a']:>6} → {ch['band_b']:<6} "
                     f"{ch['score_a']:.2f} → {ch['score_b']:.2f} ({label}) {ch['text'][:50]}")
    if len(c.changes) > show:
        lines.append(f"  … {len(c.changes) - show} more in compare.json")
    for note in c.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def write(c: Comparison, out_dir: Path) -> list[Path]:
    """``compare.json`` and, per set, PR / calibration / score pictures with both models."""
    from classifiers.plots import Curve, draw_all

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "compare.json"
    path.write_text(json.dumps(c.to_dict(), ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    written = [path]
    for name, (y, sa, sb) in c.scored.items():
        curves = [Curve(f"A {c.a}", sa, c.thresholds["a"]), Curve(f"B {c.b}", sb, c.thresholds["b"])]
        written += draw_all(y, curves, out_dir, name)
    return written


__all__ = ["Comparison", "Slice", "compare", "load_sets", "real_requests_path", "render",
           "write"]
