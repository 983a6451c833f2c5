"""Fixtures for the classifier tests: a tiny model trained once per session on a fixture corpus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from classifiers.dataset import build_splits
from classifiers.features import FeatureParams
from classifiers.model import UrgencyModel
from classifiers.train import TrainParams, TrainResult, train

FIXTURE = Path(__file__).with_name("fixture_corpus.jsonl")
TINY_PARAMS = TrainParams(features=FeatureParams(min_df=1), calibration_folds=3)


def fixed_clock() -> datetime:
    return datetime(2022, 1, 8, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def fixture_splits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("splits")
    build_splits([FIXTURE], out, seed=42)
    return out


@pytest.fixture(scope="session")
def train_tiny(tmp_path_factory: pytest.TempPathFactory, fixture_splits: Path
               ) -> Callable[[int], TrainResult]:
    def run(seed: int = 42) -> TrainResult:
        out = tmp_path_factory.mktemp(f"model-s{seed}")
        return train(fixture_splits, out, seed=seed, params=TINY_PARAMS, clock=fixed_clock,
                     progress=lambda _msg: None)

    return run


@pytest.fixture(scope="session")
def tiny(train_tiny: Callable[[int], TrainResult]) -> TrainResult:
    return train_tiny(42)


@pytest.fixture(scope="session")
def tiny_model(tiny: TrainResult) -> UrgencyModel:
    return tiny.model


@pytest.fixture(scope="session")
def tiny_path(tiny: TrainResult) -> Path:
    assert tiny.model_path is not None
    return tiny.model_path
