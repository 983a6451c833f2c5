"""Tiny registry models for the analysts' loop tests (trained in seconds on the fixture corpus)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from classifiers.dataset import build_splits
from classifiers.features import FeatureParams
from classifiers.train import TrainParams, train

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "classifiers" / "fixture_corpus.jsonl"
TINY = TrainParams(features=FeatureParams(min_df=1), calibration_folds=3)


def fixture_split(out: Path) -> Path:
    build_splits([FIXTURE], out, seed=42)
    return out


def shuffled_copy(split: Path, out: Path, seed: int = 7) -> Path:
    """The split with its training labels shuffled (valid and test untouched)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("valid", "test"):
        shutil.copy(split / f"{name}.jsonl", out / f"{name}.jsonl")
    rows = [json.loads(x) for x in (split / "train.jsonl").read_text("utf-8").splitlines()]
    ys = [r["urgent"] for r in rows]
    random.Random(seed).shuffle(ys)
    with (out / "train.jsonl").open("w", encoding="utf-8") as fh:
        for r, y in zip(rows, ys, strict=True):
            fh.write(json.dumps({**r, "urgent": y}, ensure_ascii=False) + "\n")
    return out


def train_into(registry: Path, split: Path) -> str:
    """Train a tiny model on ``split`` into ``registry/<version>/``; returns the version."""
    tmp = registry / ".tmp-train"
    result = train(split, tmp, params=TINY, progress=lambda _m: None)
    version = result.model.version
    shutil.move(str(tmp), str(registry / version))
    return version
