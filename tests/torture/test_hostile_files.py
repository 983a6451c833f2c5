"""Issue 17: hostile files get a clear error in bounded time and memory, never a traceback.

Each case reproduces a finding of the review: a 10-million-character line, JSON nested
100,000 deep (RecursionError before), /dev/zero (MemoryError after a minute before), and a
skops file with allowed types in the wrong shape (AttributeError traceback before).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from click.testing import CliRunner, Result

from bot.cli import main
from bot.errors import ModelError
from classifiers import load_model
from classifiers.paths import DEFAULT_MODEL, card_path_for
from classifiers.persist import sha256_file

ROOT = Path(__file__).resolve().parents[2]
ZERO = Path("/dev/zero")


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def _clean(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    files = {
        "long": d / "long.jsonl",
        "deep": d / "deep.jsonl",
        "deep_yaml": d / "deep.yaml",
        "long_yaml": d / "long.yaml",
    }
    files["long"].write_text(json.dumps({"text": "急" * 10_000_000}, ensure_ascii=False) + "\n" +
                             json.dumps({"text": "谢谢小编"}) + "\n", encoding="utf-8")
    files["deep"].write_text("[" * 40_000 + "]" * 40_000 + "\n" + '{"text": "谢谢"}\n',
                             encoding="utf-8")
    files["deep_yaml"].write_text("rules: " + "[" * 100_000 + "]" * 100_000 + "\n",
                                  encoding="utf-8")
    files["long_yaml"].write_text("# " + "x" * 10_000_000 + "\n", encoding="utf-8")
    return files


def test_classify_reports_a_long_line_and_a_deep_line_and_goes_on(hostile: dict[str, Path]
                                                                   ) -> None:
    for name, reason in (("long", "line too long"), ("deep", "nested more than 64 levels")):
        r = run(["classify", "--input", str(hostile[name])])
        _clean(r)
        assert r.exit_code == 0
        lines = [json.loads(x) for x in r.output.splitlines() if x.startswith("{")]
        assert reason in lines[0]["error"] and lines[1]["band"] in ("auto", "review", "below")


@pytest.mark.skipif(not ZERO.exists(), reason="no /dev/zero")
@pytest.mark.parametrize("args", [["classify", "--input", str(ZERO)],
                                  ["eval", "--data", str(ZERO)],
                                  ["rules", "check", str(ZERO)],
                                  ["rules", "test", "--data", str(ZERO), str(ROOT / "rules.yaml")],
                                  ["config", "check", "--config", str(ZERO)]])
def test_dev_zero_is_refused_quickly(args: list[str]) -> None:
    r = run(args)
    _clean(r)
    assert r.exit_code != 0
    assert "/dev/zero" in r.output and ("larger than" in r.output or "line break" in r.output
                                        or "line too long" in r.output)


def test_rules_check_refuses_deep_and_huge_files(hostile: dict[str, Path]) -> None:
    r = run(["rules", "check", str(hostile["deep_yaml"])])
    _clean(r)
    assert r.exit_code == 1 and ("nested too deeply" in r.output or "not valid YAML" in r.output)
    r = run(["rules", "check", str(hostile["long_yaml"])])
    _clean(r)
    assert r.exit_code == 1 and "larger than" in r.output


def test_rules_test_data_with_a_deep_line(hostile: dict[str, Path]) -> None:
    r = run(["rules", "test", "--data", str(hostile["deep"]), str(ROOT / "rules.yaml")])
    _clean(r)
    assert "nested more than 64 levels" in r.output


def _forged(tmp_path: Path, payload: object) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    dst = tmp_path / "urgent.skops"
    shutil.copy(DEFAULT_MODEL, dst)
    shutil.copy(card_path_for(DEFAULT_MODEL), card_path_for(dst))
    sio.dump(payload, dst, compression=zipfile.ZIP_DEFLATED)
    card = json.loads(card_path_for(dst).read_text(encoding="utf-8"))
    card["model_sha256"] = sha256_file(dst)  # whoever forged the file fixed the card too
    card_path_for(dst).write_text(json.dumps(card), encoding="utf-8")
    return dst


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no bundled model")
def test_skops_file_with_allowed_types_in_the_wrong_shape(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from classifiers.features import Normalizer

    shapes = [
        {"format": 1, "urgent": Pipeline([("n", Normalizer())]), "category": LogisticRegression()},
        {"format": 1, "urgent": LogisticRegression(), "category": [1, 2, 3]},
        {"format": 1, "urgent": [1, 2], "category": {"a": 1}},
    ]
    for i, payload in enumerate(shapes):
        path = _forged(tmp_path / str(i), payload)
        with pytest.raises(ModelError, match="shape of a dianhua model"):
            load_model(path)
        r = run(["classify", "--model", str(path), "孕妇见红"])
        _clean(r)
        assert r.exit_code == 1 and "shape of a dianhua model" in r.output
