"""Saving and loading: round trip, and refusal of tampered, corrupt and incompatible files."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
import skops.io as sio

from bot.errors import ModelError
from classifiers import load_model
from classifiers.paths import DEFAULT_MODEL, card_path_for
from classifiers.persist import sha256_file
from classifiers.train import TrainResult

TEXTS = ["孕妇见红医院不收", "谢谢小编", "", "健康码怎么变绿"]


@pytest.fixture()
def copy(tiny_path: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "urgent.skops"
    shutil.copy(tiny_path, dst)
    shutil.copy(card_path_for(tiny_path), card_path_for(dst))
    return dst


def _card(path: Path) -> dict:
    return json.loads(card_path_for(path).read_text(encoding="utf-8"))


def _write_card(path: Path, card: dict) -> None:
    card_path_for(path).write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")


def test_round_trip_gives_the_same_predictions(tiny: TrainResult, copy: Path) -> None:
    loaded = load_model(copy)
    assert loaded.predict_many(TEXTS) == tiny.model.predict_many(TEXTS)
    assert loaded.thresholds == tiny.model.thresholds
    assert load_model(copy.parent).version == loaded.version  # a folder works too


def test_card_records_what_the_issue_asks(copy: Path) -> None:
    card = _card(copy)
    for key in ("version", "created_at", "training_data", "libraries", "thresholds",
                "metrics", "counts", "model_sha256"):
        assert key in card
    assert card["created_at"] == "2022-01-08T10:00:00+00:00"
    assert set(card["libraries"]) >= {"sklearn", "jieba", "skops", "numpy", "python"}
    assert set(card["metrics"]) == {"validation", "test"}
    assert card["model_sha256"] == sha256_file(copy)
    assert "寻医买药" in card_path_for(copy).read_text(encoding="utf-8")  # not \\u-escaped


def test_missing_model_or_card_is_refused(copy: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "nope.skops")
    card_path_for(copy).unlink()
    with pytest.raises(ModelError, match="card not found"):
        load_model(copy)


def test_tampered_file_is_refused(copy: Path) -> None:
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        load_model(copy)


def test_corrupt_file_with_matching_card_is_refused(copy: Path) -> None:
    copy.write_bytes(b"this is not a zip file")
    card = _card(copy)
    card["model_sha256"] = sha256_file(copy)
    _write_card(copy, card)
    with pytest.raises(ModelError, match="corrupt|could not be read"):
        load_model(copy)


def test_unreadable_card_is_refused(copy: Path) -> None:
    card_path_for(copy).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(copy)


def test_other_sklearn_version_is_refused(copy: Path) -> None:
    card = _card(copy)
    card["libraries"]["sklearn"] = "0.24.2"
    _write_card(copy, card)
    with pytest.raises(ModelError, match="scikit-learn 0.24.2"):
        load_model(copy)


def test_file_with_untrusted_types_cannot_run_code(copy: Path) -> None:
    """A crafted model holding a function such as os.system is refused before loading."""
    sio.dump({"format": 1, "urgent": os.system, "category": None}, copy)
    card = _card(copy)
    card["model_sha256"] = sha256_file(copy)  # an attacker can fix the card too
    _write_card(copy, card)
    with pytest.raises(ModelError, match="does not trust"):
        load_model(copy)


def test_not_a_dianhua_model_is_refused(copy: Path) -> None:
    sio.dump({"hello": [1, 2, 3]}, copy, compression=zipfile.ZIP_DEFLATED)
    card = _card(copy)
    card["model_sha256"] = sha256_file(copy)
    _write_card(copy, card)
    with pytest.raises(ModelError, match="not a dianhua model"):
        load_model(copy)


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no bundled model")
def test_bundled_model_loads_and_flags_a_clear_request() -> None:
    model = load_model()
    assert model.card["model_file"] == DEFAULT_MODEL.name
    p = model.predict("我老婆怀孕38周见红了，医院要48小时核酸，我们的结果12个小时了还没出，能不能帮忙催一下，真的挺急")
    assert p.urgent
    q = model.predict("孕妇没有核酸能进医院吗？")
    assert q.score < p.score
