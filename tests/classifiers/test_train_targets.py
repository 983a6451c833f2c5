"""Where `dianhua train` writes (issue 12 item 15): a side model never touches the checkout.

Before the fix, `train` without `--out` overwrote classifiers/bundled/ and `train --resplit
--out DIR` rewrote DATA/*.jsonl. Now: the registry by default, `--out` for a side folder, and
only `--replace-bundled` touches the bundled model (keeping the previous one).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from classifiers.paths import BUNDLED_DIR

FIXTURE = Path(__file__).with_name("fixture_corpus.jsonl")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_resplit_with_out_leaves_the_data_folder_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "corpus").mkdir(parents=True)
    shutil.copy(FIXTURE, data / "corpus" / "part-x.jsonl")
    before = sorted(p.name for p in data.iterdir())
    out = tmp_path / "side"
    res = CliRunner().invoke(main, ["train", "--data", str(data), "--resplit", "--quick",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in data.iterdir()) == before  # no train/valid/test.jsonl here
    assert {"train.jsonl", "valid.jsonl", "test.jsonl"} <= {
        p.name for p in (out / "split").iterdir()}
    assert (out / "urgent.skops").is_file() and (out / "plots" / "test-pr.png").is_file()


def test_train_without_out_goes_to_the_registry_not_the_bundled_model(
    fixture_splits: Path, tmp_path: Path
) -> None:
    bundled = _digest(BUNDLED_DIR)
    reg = tmp_path / "models"
    res = CliRunner().invoke(main, ["train", "--data", str(fixture_splits), "--quick",
                                    "--registry", str(reg)])
    assert res.exit_code == 0, res.output
    assert _digest(BUNDLED_DIR) == bundled
    (version,) = [p.name for p in reg.iterdir() if p.is_dir()]
    assert (reg / version / "urgent.skops").is_file()
    assert (reg / version / "plots" / "validation-calibration.png").read_bytes()[:4] == b"\x89PNG"
    assert f"dianhua model promote {version}" in res.output
    # the same data and seed again: a clear refusal, not a silent overwrite
    again = CliRunner().invoke(main, ["train", "--data", str(fixture_splits), "--quick",
                                      "--registry", str(reg)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert [p.name for p in reg.iterdir() if p.is_dir()] == [version]


def test_replace_bundled_and_out_exclude_each_other(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["train", "--replace-bundled", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "exclude each other" in res.output
