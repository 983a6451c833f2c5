"""Issue 16's speed-ups change no score: the bundled model against scores saved before them.

``fixture_scores.jsonl`` holds 323 texts (edge cases and a fixed sample of the corpus) with the
bundled model's scores, bands, categories and explanations as the code gave them before the
speed-ups (written by ``bench/identical_scores.py --write-fixture``; the same script compares
the whole corpus against a base commit).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers import load_model
from classifiers.model import UrgencyModel

FIXTURE = Path(__file__).with_name("fixture_scores.jsonl")
TOL = 1e-12


@pytest.fixture(scope="module")
def bundled() -> UrgencyModel:
    return load_model()


@pytest.fixture(scope="module")
def saved() -> list[dict]:
    with FIXTURE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _check(rows: list[dict], preds: list) -> None:
    for row, p in zip(rows, preds, strict=True):
        where = repr(row["text"][:40])
        assert abs(p.score - row["score"]) <= TOL, where
        assert abs(p.voice - row["voice"]) <= TOL, where
        assert abs(p.category_score - row["category_score"]) <= TOL, where
        assert (p.band, p.category, p.capped) == (row["band"], row["category"], row["capped"]), where
        assert [list(t) for t in p.top_terms] == row["top_terms"], where


@pytest.mark.parametrize("batch_size", [1, 7, 256])
def test_bundled_model_gives_the_saved_scores(bundled: UrgencyModel, saved: list[dict],
                                              batch_size: int) -> None:
    texts = [r["text"] for r in saved]
    _check(saved, bundled.predict_many(texts, batch_size=batch_size))


def test_assess_and_scores_match_predict(bundled: UrgencyModel, saved: list[dict]) -> None:
    texts = [r["text"] for r in saved]
    scores, voice, capped = bundled.assess(texts)
    assert voice is not None
    for i, row in enumerate(saved):
        assert abs(scores[i] - row["score"]) <= TOL
        assert abs(voice[i] - row["voice"]) <= TOL
        assert bool(capped[i]) == bool(row["capped"])
    assert max(abs(a - r["score"]) for a, r in zip(bundled.scores(texts), saved,
                                                      strict=True)) <= TOL
