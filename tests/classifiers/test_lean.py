"""The lean model (numpy only, from urgent.lean.npz) gives the skops model's results to the bit,
imports neither scikit-learn nor scipy, and gives way to the skops file whenever its file is
missing, altered or from another model."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.errors import ModelError
from classifiers.features import FeatureParams
from classifiers.lean import LeanModel
from classifiers.lean_file import lean_path_for
from classifiers.model import UrgencyModel
from classifiers.paths import DATA_DIR, DEFAULT_MODEL, card_path_for
from classifiers.persist import LEAN_KEYS, load_model, sha256_file, write_lean
from classifiers.train import TrainParams, train

ROOT = Path(__file__).resolve().parents[2]
EDGE = ["", " ", "急急急我该哭还是该笑", "我老婆懷孕38週了，醫院說要核酸報告，結果還沒出來",
        "电话13800000000，老婆见红了", "身份证110101199003071234", "透析病人\u200b断药了\u0007！！！",
        "😭😭😭宝宝高烧39度", "“孕妇在医院门口等了两小时”，据报道", "a" * 300, "核酸" * 50,
        "🆔☎<PHONE><IDNUM>", "据悉，一名产妇临产，医院要求48小时核酸才能入院，核酸结果迟迟未出。"]
HAS_BUNDLED = pytest.mark.skipif(not lean_path_for(DEFAULT_MODEL).exists(),
                                 reason="no bundled lean file")


def _corpus_sample(n: int) -> list[str]:
    texts: list[str] = []
    for path in sorted((DATA_DIR / "corpus").glob("*.jsonl")) + sorted(
            (DATA_DIR / "eval").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh if line.strip()]
    return EDGE + random.Random(16).sample(texts, min(n, len(texts)))


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        assert p == q, (p, q)  # every float equal, not just close


def _copy_model(src: Path, dst: Path, *, lean: bool = True) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    target = dst / src.name
    shutil.copy(src, target)
    shutil.copy(card_path_for(src), card_path_for(target))
    if lean:
        shutil.copy(lean_path_for(src), lean_path_for(target))
    return target


@HAS_BUNDLED
def test_scoring_the_bundled_model_imports_neither_sklearn_nor_scipy() -> None:
    code = (
        "import sys\n"
        "from classifiers import load_model\n"
        "m = load_model()\n"
        "p = m.predict_many(['老婆见红了，医院要核酸报告，结果还没出', '谢谢小编', ''])\n"
        "s, v, c = m.assess(['孩子高烧抽搐，120打不通'])\n"
        "assert type(m).__name__ == 'LeanModel', type(m)\n"
        "assert p[0].band == 'auto' and p[1].band == 'below', p\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('sklearn', 'scipy', 'skops'))\n"
        "assert not bad, bad[:5]\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


@HAS_BUNDLED
def test_the_bundled_lean_model_equals_the_skops_model_on_corpus_texts() -> None:
    lean, full = load_model(), load_model(full=True)
    assert isinstance(lean, LeanModel) and isinstance(full, UrgencyModel)
    texts = _corpus_sample(400)
    _same(lean.predict_many(texts), full.predict_many(texts))
    _same(lean.predict_many(texts[:40], batch_size=1), full.predict_many(texts[:40]))
    s1, v1, c1 = lean.assess(texts)
    s2, v2, c2 = full.assess(texts)
    assert v1 is not None and v2 is not None
    assert np.array_equal(s1, s2) and np.array_equal(v1, v2) and np.array_equal(c1, c2)
    assert np.array_equal(lean.scores(texts), full.scores(texts))
    assert (lean.categories, lean.thresholds, lean.voice_cut, lean.version, lean.has_voice) == (
        full.categories, full.thresholds, full.voice_cut, full.version, full.has_voice)


@HAS_BUNDLED
def test_the_lean_run_memo_stays_small_and_scores_stay_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: long-lived memo entries fragment the heap; the memo never passes MEMO_RUNS."""
    import classifiers.lean as lean_mod

    lean, full = load_model(), load_model(full=True)
    assert isinstance(lean, LeanModel)
    monkeypatch.setattr(lean_mod, "MEMO_RUNS", 8)
    texts = [f"第{i}条留言，孩子发烧{i}天" for i in range(60)] + _corpus_sample(100)
    _same(lean.predict_many(texts, batch_size=32), full.predict_many(texts))
    assert all(len(b.memo) <= 8 for b in lean._blocks if hasattr(b, "memo"))


@HAS_BUNDLED
def test_the_lean_file_holds_no_code() -> None:
    with zipfile.ZipFile(lean_path_for(DEFAULT_MODEL)) as zf:
        assert all(n.endswith(".npy") for n in zf.namelist())
    with np.load(lean_path_for(DEFAULT_MODEL), allow_pickle=False) as npz:
        for name in npz.files:
            assert npz[name].dtype.kind in "fiu", name  # numbers and UTF-8 bytes only
    card = json.loads(card_path_for(DEFAULT_MODEL).read_text(encoding="utf-8"))
    assert card["lean_sha256"] == sha256_file(lean_path_for(DEFAULT_MODEL))


def test_train_writes_a_lean_file_that_scores_like_the_trained_model(tiny_model: UrgencyModel,
                                                                      tiny_path: Path) -> None:
    card = json.loads(card_path_for(tiny_path).read_text(encoding="utf-8"))
    assert card["lean_file"] == "urgent.lean.npz"
    assert card["lean_sha256"] == sha256_file(lean_path_for(tiny_path))
    lean = load_model(tiny_path)
    assert isinstance(lean, LeanModel)
    texts = _corpus_sample(200)
    _same(lean.predict_many(texts), tiny_model.predict_many(texts))


def test_an_isotonic_model_scores_the_same_too(fixture_splits: Path, tmp_path: Path) -> None:
    params = TrainParams(features=FeatureParams(min_df=1), calibration_folds=3,
                         calibration="isotonic")
    result = train(fixture_splits, tmp_path / "iso", params=params, progress=lambda _m: None)
    assert result.model_path is not None
    lean = load_model(result.model_path)
    assert isinstance(lean, LeanModel)
    texts = _corpus_sample(150)
    _same(lean.predict_many(texts), result.model.predict_many(texts))


@pytest.mark.parametrize("damage", ["missing", "altered", "other_model", "card_without"])
def test_the_skops_file_serves_when_the_lean_file_cannot(tiny_path: Path, tmp_path: Path,
                                                          damage: str) -> None:
    path = _copy_model(tiny_path, tmp_path)
    lean = lean_path_for(path)
    card_file = card_path_for(path)
    if damage == "missing":
        lean.unlink()
    elif damage == "altered":
        data = bytearray(lean.read_bytes())
        data[len(data) // 2] ^= 0xFF
        lean.write_bytes(bytes(data))
    elif damage == "other_model":  # a lean file of another model, its hash put in the card
        with np.load(lean, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        meta["model_sha256"] = "0" * 64
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        np.savez(lean, allow_pickle=False, **arrays)  # type: ignore[arg-type]
        card = json.loads(card_file.read_text(encoding="utf-8"))
        card["lean_sha256"] = sha256_file(lean)
        card_file.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    else:
        card = json.loads(card_file.read_text(encoding="utf-8"))
        for key in LEAN_KEYS:
            card.pop(key)
        card_file.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    model = load_model(path)
    assert isinstance(model, UrgencyModel)
    assert model.predict("孕妇见红医院不收").score == load_model(tiny_path).predict(
        "孕妇见红医院不收").score


def test_a_tampered_skops_file_is_refused_even_with_a_good_lean_file(tiny_path: Path,
                                                                     tmp_path: Path) -> None:
    path = _copy_model(tiny_path, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        load_model(path)


def test_write_lean_adds_the_file_to_a_model_saved_without_it(tiny_path: Path,
                                                              tmp_path: Path) -> None:
    path = _copy_model(tiny_path, tmp_path, lean=False)
    assert isinstance(load_model(path), UrgencyModel)
    written = write_lean(path)
    assert written == lean_path_for(path) and written.is_file()
    card = json.loads(card_path_for(path).read_text(encoding="utf-8"))
    assert card["lean_sha256"] == sha256_file(written)
    assert card["model_sha256"] == sha256_file(path)  # the skops file is not touched
    assert isinstance(load_model(path), LeanModel)


def test_the_lean_model_loads_the_estimators_only_when_asked(tiny_path: Path) -> None:
    lean = load_model(tiny_path)
    assert isinstance(lean, LeanModel) and lean._full_model is None
    assert lean.voice_model is not None and lean.urgent_pipeline is not None
    assert isinstance(lean.full(), UrgencyModel)
    assert lean.category_model.classes_.tolist() == lean.categories


def test_the_cli_writes_the_lean_file_of_a_registry_model(tiny_path: Path,
                                                          tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    reg = tmp_path / "models"
    path = _copy_model(tiny_path, reg / "v1", lean=False)
    res = CliRunner().invoke(main, ["model", "lean", "v1", "--registry", str(reg)])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and lean_path_for(path).is_file()
    assert isinstance(load_model(path), LeanModel)
