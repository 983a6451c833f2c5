"""Where `dianhua train` writes (issue 12 item 15): a side model never touches the checkout.

Before the fix, `train` without `--out` overwrote classifiers/bundled/ and `train --resplit
--out DIR` rewrote DATA/*.jsonl. Now: the registry by default, `--out` for a side folder, and
only `--replace-bundled` touches the bundled model (keeping the previous one).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
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
    res = CliRunner().invoke(main, ["train", "--data", str(data), "--resplit", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in data.iterdir()) == before  # no train/valid/test.jsonl here
    assert {"train.jsonl", "valid.jsonl", "test.jsonl"} <= {
        p.name for p in (out / "split").iterdir()}
    assert (out / "urgent.skops").is_file() and (out / "plots" / "test-pr.png").is_file()


def test_train_without_out_goes_to_the_registry_not_the_bundled_model(
    fixture_splits: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.paths

    bundled = tmp_path / "bundled"  # a stand-in, so a regression cannot hurt the real one
    shutil.copytree(BUNDLED_DIR, bundled, ignore=shutil.ignore_patterns("previous"))
    monkeypatch.setattr(classifiers.paths, "BUNDLED_DIR", bundled)
    monkeypatch.chdir(tmp_path)  # the registry defaults to ./models
    before = _digest(bundled)
    res = CliRunner().invoke(main, ["train", "--data", str(fixture_splits)])
    assert res.exit_code == 0, res.output
    assert _digest(bundled) == before
    reg = tmp_path / "models"
    (version,) = [p.name for p in reg.iterdir() if p.is_dir()]
    assert (reg / version / "urgent.skops").is_file()
    assert (reg / version / "plots" / "validation-calibration.png").read_bytes()[:4] == b"\x89PNG"
    assert f"dianhua model promote {version}" in res.output
    # the same data and seed again: a clear refusal, not a silent overwrite
    again = CliRunner().invoke(main, ["train", "--data", str(fixture_splits), "--quick",
                                      "--registry", str(reg)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert [p.name for p in reg.iterdir() if p.is_dir()] == [version]


def test_replace_bundled_keeps_the_previous_model(
    fixture_splits: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.paths

    bundled = tmp_path / "bundled"
    shutil.copytree(BUNDLED_DIR, bundled, ignore=shutil.ignore_patterns("previous"))
    monkeypatch.setattr(classifiers.paths, "BUNDLED_DIR", bundled)
    before = _digest(bundled)
    res = CliRunner().invoke(main, ["train", "--data", str(fixture_splits), "--quick",
                                    "--replace-bundled"])
    assert res.exit_code == 0, res.output
    assert _digest(bundled / "previous") == before
    assert _digest(bundled)["urgent.skops"] != before["urgent.skops"]


def test_replace_bundled_and_out_exclude_each_other(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["train", "--replace-bundled", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "exclude each other" in res.output


def test_add_trains_on_real_labels_but_never_on_test_and_holds_the_newest_apart(
    fixture_splits: Path, tmp_path: Path
) -> None:
    import json

    data = tmp_path / "data"
    shutil.copytree(fixture_splits, data)
    before = _digest(data)
    test_text = json.loads((data / "test.jsonl").read_text("utf-8").splitlines()[0])["text"]
    rows = [{"id": f"real:{i}", "text": t, "urgent": u, "category": "寻医买药",
             "tags": ["real", "editor"], "date": f"2022-01-0{i + 1}T08:00:00+00:00",
             "editor": "小王"}
            for i, (t, u) in enumerate([("我爸透析被停了 小区出不去", 1), ("谢谢小编 已经解决了", 0),
                                        ("孩子高烧抽搐 医院不收", 1), ("请问疫苗在哪打", 0),
                                        ("孕妇见红 求帮忙联系医院", 1), ("天气真好", 0),
                                        ("化疗断药三天了 救救我妈", 1), (test_text, 1)])]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    implicit = tmp_path / "implicit.jsonl"
    implicit.write_text(json.dumps({"id": "real:9", "text": "老人胸痛 救护车不来", "urgent": 1,
                                    "category": "寻医买药", "implicit": True,
                                    "date": "2022-01-09T08:00:00+00:00"}, ensure_ascii=False)
                        + "\n", "utf-8")
    out = tmp_path / "m"
    res = CliRunner().invoke(main, ["train", "--data", str(data), "--quick", "--out", str(out),
                                    "--add", str(labels), "--add", str(implicit)])
    assert res.exit_code == 0, res.output
    assert "1 dropped (same text as a validation/test comment)" in res.output
    assert "6 train, 2 newest held out" in res.output
    assert _digest(data) == before  # the fixed split is untouched
    held = [json.loads(x) for x in (out / "real_test.jsonl").read_text("utf-8").splitlines()]
    assert [r["id"] for r in held] == ["real:5", "real:6"]  # the two newest editors' labels
    card = json.loads((out / "urgent.card.json").read_text("utf-8"))
    added = card["training_data"]["added"]
    assert added["train"] == 6 and added["real_test"] == 2 and added["weights"] == [1.0, 2.0]
    assert set(added["files"]) == {"labels.jsonl", "implicit.jsonl"}
    assert card["metrics"]["real_test"]["n"] == 2
    assert (out / "plots" / "real_test-pr.png").is_file()
