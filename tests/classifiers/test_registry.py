"""The registry: compare two models, promote behind the gate, roll back, shadow."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from classifiers.features import FeatureParams
from classifiers.registry import Registry
from classifiers.train import TrainParams, TrainResult, train

TINY_PARAMS = TrainParams(features=FeatureParams(min_df=1), calibration_folds=3)


@pytest.fixture(scope="module")
def shuffled(fixture_splits: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A model made deliberately worse: the training labels shuffled (valid/test untouched)."""
    data = tmp_path_factory.mktemp("shuffled")
    for name in ("valid", "test"):
        shutil.copy(fixture_splits / f"{name}.jsonl", data / f"{name}.jsonl")
    rows = [json.loads(x) for x in (fixture_splits / "train.jsonl").read_text("utf-8").splitlines()]
    ys = [r["urgent"] for r in rows]
    random.Random(7).shuffle(ys)
    with (data / "train.jsonl").open("w", encoding="utf-8") as fh:
        for r, y in zip(rows, ys, strict=True):
            fh.write(json.dumps({**r, "urgent": y}, ensure_ascii=False) + "\n")
    out = tmp_path_factory.mktemp("shuffled-model")
    return train(data, out, params=TINY_PARAMS, progress=lambda _m: None)


@pytest.fixture
def reg(tmp_path: Path, tiny: TrainResult, shuffled: TrainResult) -> Registry:
    r = Registry(tmp_path / "models")
    for res in (tiny, shuffled):
        assert res.model_path is not None
        shutil.copytree(res.model_path.parent, r.root / res.model.version)
    r.set_live(tiny.model.version, by="test")
    return r


def _run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_promote_refuses_a_model_trained_on_shuffled_labels_and_names_the_slice(
    reg: Registry, tiny: TrainResult, shuffled: TrainResult, fixture_splits: Path
) -> None:
    good, bad = tiny.model.version, shuffled.model.version
    common = ["--registry", str(reg.root), "--test", str(fixture_splits / "test.jsonl"),
              "--real-requests", str(reg.root / "absent.jsonl")]
    res = _run("model", "promote", bad, *common)
    assert res.exit_code == 1, res.output
    assert f"refusing to promote {bad}" in res.output
    assert "slice 'test': recall at review" in res.output
    assert "LOST" in res.output and "real requests skipped" in res.output
    assert reg.live_version() == good
    assert (reg.folder(bad) / f"compare-{good}" / "test-pr.png").read_bytes()[:4] == b"\x89PNG"

    res = _run("model", "promote", bad, "--force", *common)
    assert res.exit_code == 2 and "--reason" in res.output
    res = _run("model", "promote", bad, "--force", "--reason", "试一下", *common)
    assert res.exit_code == 0, res.output
    assert reg.live_version() == bad
    last = reg.history()[-1]
    assert last["forced"] is True and last["reason"] == "试一下" and last["previous"] == good

    res = _run("model", "rollback", "--registry", str(reg.root))
    assert res.exit_code == 0 and reg.live_version() == good

    # the live model's files are gone: promote says so, and --force --reason still works
    shutil.rmtree(reg.folder(good))
    res = _run("model", "promote", bad, *common)
    assert res.exit_code == 1 and f"cannot compare {bad} with the live model {good}" in res.output
    res = _run("model", "promote", bad, "--force", "--reason", "live model lost", *common)
    assert res.exit_code == 0 and reg.live_version() == bad, res.output


def test_compare_prints_slices_band_changes_and_writes_pictures(
    reg: Registry, tiny: TrainResult, shuffled: TrainResult, fixture_splits: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cmp"
    res = _run("model", "compare", tiny.model.version, shuffled.model.version, "--registry",
               str(reg.root), "--test", str(fixture_splits / "test.jsonl"), "--out-dir", str(out))
    assert res.exit_code == 0, res.output
    assert "A rec@rev" in res.output and "B prec@auto" in res.output
    assert "comments change band" in res.output and "would be REFUSED" in res.output
    assert {"test-pr.png", "test-calibration.png", "test-scores.png", "compare.json"} <= {
        p.name for p in out.iterdir()}
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert data["refusals"] and data["band_changes"]


def test_list_shadow_and_unknown_versions(reg: Registry, shuffled: TrainResult) -> None:
    bad = shuffled.model.version
    res = _run("model", "shadow", bad, "--registry", str(reg.root))
    assert res.exit_code == 0 and reg.shadow()["version"] == bad  # type: ignore[index]
    res = _run("model", "list", "--registry", str(reg.root))
    assert res.exit_code == 0 and "bundled" in res.output
    assert f" s{bad}" in res.output and "shadow: " + bad in res.output
    assert _run("model", "shadow", "--off", "--registry", str(reg.root)).exit_code == 0
    assert reg.shadow() is None
    res = _run("model", "promote", "nope", "--registry", str(reg.root))
    assert res.exit_code == 1 and "no model 'nope'" in res.output
    res = _run("model", "promote", "../etc", "--registry", str(reg.root))
    assert res.exit_code == 1 and "not a model version" in res.output


def test_a_model_that_flags_everything_keeps_recall_but_loses_on_auto_precision() -> None:
    from classifiers.compare import Comparison, Side, Slice

    a, b = Side(382, 0.992, 378, 0.976), Side(382, 0.992, 723, 0.396)
    whole = Slice("test", 1004, 385, a, b, whole=True)
    tag = Slice("test:dialect", 38, 21, a, b)
    c = Comparison("A", "B", slices=[whole, tag])
    assert not whole.lost and whole.lost_auto and not tag.lost_auto
    assert c.refusals() == ["slice 'test': precision at auto 0.976 → 0.396 (below the 0.95 "
                            "target the live model meets)"]
