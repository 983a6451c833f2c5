"""Train the urgent model and its category head from ``train/valid/test.jsonl``.

The urgent model is fitted on ``train`` only; thresholds are chosen on ``valid``
(:func:`classifiers.metrics.choose_thresholds`); ``test`` is scored once, for the card.
Everything is deterministic: the same files and seed give the same predictions.
"""

from __future__ import annotations

import platform
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot import __version__
from bot.errors import ModelError
from classifiers.added import EDITOR_WEIGHT
from classifiers.calibration import (
    DEFAULT_BOUND,
    WriterCalibratedClassifier,
    expected_calibration_error,
)
from classifiers.dataset import Example, file_sha256, read_jsonl, source_of
from classifiers.features import FeatureParams, Normalizer, build_features
from classifiers.metrics import (
    POLICY,
    TARGETS,
    auto_cut_for_false_share,
    choose_thresholds,
    review_cut_for_recall,
    summary,
)
from classifiers.model import UrgencyModel
from classifiers.paths import DATA_DIR, SPLITS, USERDICT
from classifiers.persist import save_model
from classifiers.segment import read_userdict
from classifiers.voice import (
    KEEP_URGENT_AUTO,
    NO_CAP,
    REPORT_TAGS,
    choose_voice_cut,
    fit_voice_head,
    reads_as_news,
    voice_labels,
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainParams:
    """Model knobs (recorded in the card)."""

    features: FeatureParams = field(default_factory=FeatureParams)
    C: float = 1.0  # round 4: chosen by leave-one-writer-out over parts j–m (docs/training.md)
    category_C: float = 4.0
    calibration: str = "sigmoid"
    calibration_folds: int = 5  # group k-fold over writers (corpus parts)
    calibration_bound: float = DEFAULT_BOUND  # scores stay in [bound, 1 - bound]
    voice_C: float = 3.0  # the voice head (classifiers/voice.py; C by LOWO, docs/training.md); 0 = none

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_pipeline(userdict: tuple[str, ...], params: TrainParams, seed: int) -> Pipeline:
    """An unfitted urgent pipeline."""
    lr = LogisticRegression(
        C=params.C, class_weight="balanced", max_iter=5000, random_state=seed
    )
    clf = WriterCalibratedClassifier(
        lr,
        method=params.calibration,
        n_folds=params.calibration_folds,
        bound=params.calibration_bound,
    )
    return Pipeline(
        [
            ("normalize", Normalizer()),
            ("features", build_features(userdict, params.features)),
            ("clf", clf),
        ]
    )


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist, key in (
        ("scikit-learn", "sklearn"),
        ("jieba", "jieba"),
        ("skops", "skops"),
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("opencc-python-reimplemented", "opencc"),
    ):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[key] = "unknown"
    return out


def _counts(rows: Sequence[Example]) -> dict[str, Any]:
    return {
        "n": len(rows),
        "urgent": sum(r.urgent for r in rows),
        "categories": dict(sorted(Counter(r.category or "" for r in rows).items())),
    }


def load_splits(data_dir: Path) -> dict[str, list[Example]]:
    """Read ``train/valid/test.jsonl`` from ``data_dir`` (ModelError when one is missing/empty)."""
    splits: dict[str, list[Example]] = {}
    for name in SPLITS:
        path = data_dir / f"{name}.jsonl"
        if not path.is_file():
            raise ModelError(
                f"{path} not found: build the split first (`dianhua train --resplit`)"
            )
        rows, problems = read_jsonl(path, need_category=True)
        if problems:
            logger.warning("{}: skipped {} bad lines", path, len(problems))
        if not rows or len({r.urgent for r in rows}) < 2:
            raise ModelError(f"{path} needs both urgent and non-urgent examples")
        splits[name] = rows
    return splits


@dataclass
class TrainResult:
    model: UrgencyModel
    model_path: Path | None
    card_path: Path | None


REAL_TAG = "real"  # corpus rows of real text (not written for the project)
MIN_REAL_URGENT = 20  # fewer urgent real rows than this: no review cut of their own
# At most this share of the not-urgent real rows may reach auto (held-out-writer scores); the
# outside check allows 1 % of real news a public reply; the estimate is for pages never read.
REAL_AUTO_SHARE = 0.01
MIN_REAL_NOT_URGENT = 200  # fewer not-urgent real rows than this: no auto cut of their own


def train(
    data_dir: str | Path | None = None,
    out_path: str | Path | None = None,
    *,
    seed: int = 42,
    params: TrainParams | None = None,
    userdict: str | Path | None = None,
    clock: Callable[[], datetime] | None = None,
    progress: Progress | None = None,
    added: Sequence[Example] = (),
    added_weights: Sequence[float] = (),
    added_files: Sequence[Path] = (),
    real_test: Sequence[Example] = (),
) -> TrainResult:
    """Fit, choose thresholds on valid, score test, and (when ``out_path``) save model + card.

    ``added`` (real labels, :mod:`classifiers.added`) join the training split only, each with
    its weight from ``added_weights``; ``real_test`` (the newest real labels) is scored for the
    card and never trained on. With ``out_path`` the plots go to ``<out>/plots/``.
    """
    say: Progress = progress or (lambda msg: logger.info(msg))
    params = params or TrainParams()
    data = Path(data_dir) if data_dir is not None else DATA_DIR
    now = (clock or (lambda: datetime.now(UTC)))()
    say(f"reading splits from {data}")
    splits = load_splits(data)
    tr, va, te = splits["train"], splits["valid"], splits["test"]
    dict_path = Path(userdict) if userdict is not None else (
        data / "userdict.txt" if (data / "userdict.txt").is_file() else USERDICT
    )
    words = read_userdict(dict_path)
    say(f"train {len(tr)} · valid {len(va)} · test {len(te)} comments; {len(words)} user words")

    np.random.seed(seed)  # nothing below draws randomly; belt and braces
    pipe = build_pipeline(words, params, seed)
    fit_rows = [*tr, *added]
    fit_kw: dict[str, Any] = {}
    # Real text in the corpus (tag "real": sentences from public pages, data/eval/README.md)
    # weighs like an editor's label: real readers' and reporters' words are rare and worth more.
    real_in_corpus = sum(REAL_TAG in r.tags for r in tr)
    if added or real_in_corpus:
        if added:
            say(f"adding {len(added)} real labels to training")
        if real_in_corpus:
            say(f"{real_in_corpus} real comments in the training split weigh {EDITOR_WEIGHT:g}")
        weights = np.array([EDITOR_WEIGHT if REAL_TAG in r.tags else 1.0 for r in tr]
                           + [float(w) for w in added_weights])
        fit_kw = {"sample_weight": weights}
    say("fitting word + character features and the calibrated urgent model")
    # real labels are writers of their own; real text's writer is its web page
    writers = [source_of(r) for r in fit_rows]
    y_tr = np.array([r.urgent for r in fit_rows])
    pipe.fit([r.text for r in fit_rows], y_tr, clf__groups=writers,
             **{f"clf__{k}": v for k, v in fit_kw.items()})
    held_out = pipe[-1].held_out_proba_
    x_tr = pipe[:-1].transform([r.text for r in fit_rows])
    say("fitting the category model")
    cat = LogisticRegression(
        C=params.category_C, class_weight="balanced", max_iter=5000, random_state=seed
    )
    cat.fit(x_tr, [r.category for r in fit_rows], **fit_kw)
    v_tr = voice_labels(fit_rows)  # real labels carry no voice tags: they count as not a report
    voice = None
    if params.voice_C > 0:
        say(f"fitting the voice head ({int(v_tr.sum())} report-voice training comments)")
        voice = fit_voice_head(x_tr, v_tr, seed, C=params.voice_C)

    say("choosing thresholds on the validation split")
    stub = {"thresholds": {"review": 0.5, "auto": 0.5}}
    probe = UrgencyModel(pipe, cat, stub, voice)
    y_va = [r.urgent for r in va]
    s_va, vo_va, _ = probe.assess([r.text for r in va])
    choice = choose_thresholds(y_va, s_va)
    for note in choice.notes:
        logger.warning("threshold: {}", note)
    # Review must also hold for writers the model has never read: the held-out-writer scores of
    # the training rows (group k-fold by writer) give a second cut at the same recall; the lower
    # of the two wins. The authored validation split shares its writers with train, so on its
    # own it overstates how well review catches other people's words.
    writers_cut = review_cut_for_recall(y_tr, held_out, POLICY["review"]["recall"])
    # And for real people's words in particular (corpus rows tagged "real", editors' labels):
    # authored comments are the large majority of the pool above and are easier.
    real = np.array([REAL_TAG in r.tags for r in tr] + [True] * len(added), dtype=bool)
    real_cut = (review_cut_for_recall(y_tr[real], held_out[real], POLICY["review"]["recall"])
                if int(y_tr[real].sum()) >= MIN_REAL_URGENT else 1.0)
    review = min(choice.review, writers_cut, real_cut)
    if review < choice.review:
        say(f"review cut lowered from {choice.review:.4f} (validation) to {review:.4f} "
            f"(recall {POLICY['review']['recall']} on held-out writers: all {writers_cut:.4f}, "
            f"real text {real_cut:.4f})")
    # Auto must hold for real words the model has never read, too: at most
    # REAL_AUTO_SHARE of the not-urgent real rows (press, officials, readers' own questions),
    # scored by a model that never read their writer, may reach it (rows the press-words rule
    # holds at review do not count). The higher of this cut and validation's wins. Written
    # before any score of round 6 was seen (docs/training.md, "Round 6").
    real_neg = real & (y_tr == 0)
    real_news_texts = [r.text for r, is_real in zip(fit_rows, real, strict=True) if is_real]
    kept = np.array([not reads_as_news(t) for t in real_news_texts], dtype=bool)
    auto_real_cut = (auto_cut_for_false_share(y_tr[real][kept], held_out[real][kept],
                                              REAL_AUTO_SHARE)
                     if int(real_neg.sum()) >= MIN_REAL_NOT_URGENT else 0.0)
    auto = max(choice.auto, auto_real_cut)
    if auto > choice.auto:
        say(f"auto cut raised from {choice.auto:.4f} (validation) to {auto:.4f} (at most "
            f"{REAL_AUTO_SHARE:.1%} of not-urgent real text at auto, held-out writers)")
    th = {"review": round(min(review, auto), 6), "auto": round(auto, 6)}
    cut = NO_CAP if vo_va is None else round(choose_voice_cut(y_va, s_va, vo_va, th["auto"]), 6)
    voice_card: dict[str, Any] = {
        "cut": cut,
        "rule": f"lowest cut keeping >= {KEEP_URGENT_AUTO} of the urgent validation comments "
                "at auto below it (auto needs voice < cut)",
        "report_tags": sorted(REPORT_TAGS),
        "train_report_voice": int(v_tr.sum()),
        "head": voice is not None,
    }
    probe = UrgencyModel(pipe, cat, {"thresholds": th, "voice": voice_card}, voice)
    _, _, capped_va = probe.assess([r.text for r in va])
    say("scoring the test split")
    y_te = [r.urgent for r in te]
    s_te, _, capped_te = probe.assess([r.text for r in te])
    val_metrics = summary(y_va, s_va, **th, capped=capped_va)
    test_metrics = summary(y_te, s_te, **th, capped=capped_te)
    voice_card["validation_capped"] = int(capped_va.sum())
    voice_card["test_capped"] = int(capped_te.sum())
    say(f"voice cut {cut}: capped at review {int(capped_va.sum())} validation and "
        f"{int(capped_te.sum())} test comments")
    val_metrics["ece"] = expected_calibration_error(y_va, s_va)
    test_metrics["ece"] = expected_calibration_error(y_te, s_te)
    calibration = {
        "method": params.calibration,
        "folds": pipe[-1].fold_kind_,
        "bound": params.calibration_bound,
        "writers": dict(sorted(Counter(w for w in writers if not w.startswith("page:")).items())),
        "real_text_pages": len({w for w in writers if w.startswith("page:")}),
        "held_out_writers_ece": expected_calibration_error(y_tr, held_out),
        "validation_ece": val_metrics["ece"],
        "test_ece": test_metrics["ece"],
    }
    say(f"calibration: {calibration['folds']}; ECE held-out writers "
        f"{calibration['held_out_writers_ece']}, validation {val_metrics['ece']}")
    for name, rows in (("validation", va), ("test", te)):
        m = val_metrics if name == "validation" else test_metrics
        m["category_accuracy"] = round(
            float(
                np.mean(
                    np.array(cat.predict(pipe[:-1].transform([r.text for r in rows])))
                    == np.array([r.category for r in rows])
                )
            ),
            4,
        )

    real_metrics = None
    if real_test:
        y_rt = [r.urgent for r in real_test]
        s_rt, _, capped_rt = probe.assess([r.text for r in real_test])
        real_metrics = summary(y_rt, s_rt, review=th["review"], auto=th["auto"],
                               capped=capped_rt)

    files = [data / f"{n}.jsonl" for n in SPLITS]
    data_sha = file_sha256([*files, *added_files])
    card: dict[str, Any] = {
        "name": "dianhua urgent-request classifier",
        "version": f"{__version__}+{data_sha[:8]}.s{seed}",
        "created_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "training_data": {
            "sha256": data_sha,
            "files": {p.name: file_sha256([p]) for p in files},
            "userdict_sha256": file_sha256([dict_path]) if dict_path.is_file() else None,
            **({"added": {
                "files": {p.name: file_sha256([p]) for p in added_files},
                "train": len(added), "urgent": sum(r.urgent for r in added),
                "weights": sorted({float(w) for w in added_weights}),
                "real_test": len(real_test),
            }} if added_files else {}),
        },
        "counts": {"train": _counts(tr), "valid": _counts(va), "test": _counts(te)},
        "libraries": library_versions(),
        "params": params.to_dict(),
        "thresholds": th,
        "voice": voice_card,
        "threshold_policy": POLICY,
        "threshold_notes": list(choice.notes),
        "review_rule": ("the lower of: the highest cut with review recall "
                        f"{POLICY['review']['recall']} on validation, and the same on the "
                        "held-out-writer scores of the training rows, and the same on "
                        "those of its real text (when it holds at least "
                        f"{MIN_REAL_URGENT} urgent rows)"),
        "auto_rule": ("the higher of: the lowest cut with auto precision "
                      f"{POLICY['auto']['precision']} on validation, and the lowest cut that "
                      f"leaves at most {REAL_AUTO_SHARE:.1%} of the not-urgent real training "
                      "rows (held-out-writer scores, press-words rows left out) at or above it "
                      f"(when they number at least {MIN_REAL_NOT_URGENT})"),
        "auto_cuts": {"validation": round(choice.auto, 6),
                      "held_out_writers_real_text": round(auto_real_cut, 6)},
        "review_cuts": {"validation": round(choice.review, 6),
                        "held_out_writers": round(writers_cut, 6),
                        "held_out_writers_real_text": round(real_cut, 6)},
        "calibration": calibration,
        "targets": TARGETS,
        "metrics": {"validation": val_metrics, "test": test_metrics,
                    **({"real_test": real_metrics} if real_metrics else {})},
        "targets_met_on_test": test_metrics["meets_targets"],
        "categories": [str(c) for c in cat.classes_],
        "platform": sys.platform,
    }
    model = UrgencyModel(pipe, cat, card, voice)
    model_path = card_path = None
    if out_path is not None:
        target = Path(out_path)
        if target.suffix != ".skops":
            target = target / "urgent.skops"
        say(f"writing {target} and its card")
        model_path, card_path = save_model(model, target)
        _draw(model, target.parent / "plots", {"validation": (y_va, s_va), "test": (y_te, s_te),
              **({"real_test": (y_rt, s_rt)} if real_test else {})})
    return TrainResult(model=model, model_path=model_path, card_path=card_path)


def _draw(model: UrgencyModel, out: Path, sets: dict[str, tuple[Any, Any]]) -> None:
    """PR curve, calibration and score histograms of each scored set (``plots/``)."""
    from classifiers.plots import Curve, draw_all

    for name, (y, s) in sets.items():
        draw_all(y, [Curve(model.version, s, model.thresholds)], out, name)


__all__ = ["TrainParams", "TrainResult", "build_pipeline", "library_versions", "load_splits", "train"]
