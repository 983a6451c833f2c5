"""Issue 16's faster paths give exactly what the plain paths give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MaxAbsScaler

from classifiers import features, normalize, terms
from classifiers.features import FastFeatures, Normalizer, pieces
from classifiers.model import UrgencyModel

ODD = ["", " ", "急急急我该哭还是该笑", "我老婆懷孕38週了，醫院說要核酸報告", "有序安排，沈默的等待",
       "等著結果", "电话13800000000", "138****5678 孕妇", "透析\u200b断药\u0007！！！", "ＡＢＣ１２３　全角",
       "😭👨\u200d👩\u200d👧宝宝高烧", "“引号里”的「话」", "a\tb\nc\rd\u3000e", "\u2028\u2029\x1c分隔",
       "🆔☎<PHONE><IDNUM>", "x" * 300, "﹏﹏~~~", "\ud800孤立代理", "\ue000私用区"]


def _texts() -> list[str]:
    fixture = Path(__file__).with_name("fixture_corpus.jsonl")
    return ODD + [json.loads(line)["text"] for line in fixture.read_text("utf-8").splitlines()]


def test_fast_features_equal_the_pipeline(tiny_model: UrgencyModel) -> None:
    assert tiny_model._fast is not None
    texts = _texts()
    slow = tiny_model._features.transform(texts).tocsr()
    fast = tiny_model._fast.transform(texts)
    assert fast.shape == slow.shape and fast.dtype == slow.dtype
    assert np.array_equal(fast.indptr, slow.indptr)
    assert np.array_equal(fast.indices, slow.indices)
    assert np.array_equal(fast.data, slow.data)  # bit for bit


def test_fast_features_decline_other_shapes(tiny_model: UrgencyModel) -> None:
    union = tiny_model._features[-1]
    assert FastFeatures.of(Pipeline([("n", Normalizer()), ("s", MaxAbsScaler())])) is None
    odd = FeatureUnion([*union.transformer_list, ("x", MaxAbsScaler())])
    assert FastFeatures.of(Pipeline([("n", Normalizer()), ("f", odd)])) is None
    assert FastFeatures.of(union) is None


def test_pieces_equal_the_character_walk() -> None:
    for text in _texts():
        assert pieces(text) == terms._pieces_slow(
            text.replace("<PHONE>", "☎").replace("<IDNUM>", "🆔")), text


def test_to_simplified_shortcut_equals_opencc() -> None:
    converter = normalize._t2s()
    assert normalize._t2s_keys() is not None
    for text in _texts() + ["沈船", "乾燥", "頭髮", "后来", "著名的著作", "等著"]:
        out = str(converter.convert(text))
        want = normalize._ZHE.sub("着", out) if "著" in out else out
        assert normalize.to_simplified(text) == (text if not text or text.isascii() else want)


def test_control_characters_step_is_unchanged() -> None:
    def reference(text: str) -> str:
        import unicodedata

        return "".join(
            " " if ch in "\t\n\r\u3000" else ch for ch in text
            if ch in "\t\n\r" or unicodedata.category(ch) not in normalize._CONTROL_CATEGORIES
            or ch == "\u200d")

    for _ in range(2):  # the second time the characters are known
        for text in _texts():
            assert normalize._drop_controls(text) == reference(text), repr(text)


def test_loading_a_model_imports_only_the_estimators_it_needs() -> None:
    code = (
        "import sys, sklearn.utils as u; real = u.all_estimators\n"
        "from classifiers.persist import load_model, SKLEARN_ESTIMATORS\n"
        "load_model(full=True)\n"
        "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names\n"
        "assert u.all_estimators is real\n"
        "assert 'sklearn.ensemble' not in sys.modules and 'pytest' not in sys.modules\n"
        "assert 'sklearn.ensemble._hist_gradient_boosting.binning' not in sys.modules\n"
        "assert len(names) == len(SKLEARN_ESTIMATORS), names\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_the_run_memo_stays_small_and_the_features_stay_the_same(
        tiny_model: UrgencyModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: a large memo of long-lived entries fragmented the heap; it stays at MEMO_RUNS."""
    fast = tiny_model._fast
    assert fast is not None
    monkeypatch.setattr(features, "MEMO_RUNS", 8)
    texts = [f"第{i}条留言 电话{i}号" for i in range(60)] + _texts()
    slow = tiny_model._features.transform(texts).tocsr()
    got = fast.transform(texts)
    assert all(len(memo) <= 8 for memo in fast._memo.values())
    assert np.array_equal(got.indices, slow.indices) and np.array_equal(got.data, slow.data)


def test_batch_commands_may_remember_more_runs_than_the_daemon(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon keeps small memos (a long-lived heap fragments); `dianhua classify` over a
    file sets larger ones for its own process."""
    from classifiers import lean, segment, use_batch_memos

    for module, name in ((segment, "MEMO_TEXTS"), (lean, "MEMO_RUNS"), (features, "MEMO_RUNS")):
        monkeypatch.setattr(module, name, 1_024)  # the daemon's size (a CLI test may have run)
    use_batch_memos(5_000)
    assert segment.MEMO_TEXTS == lean.MEMO_RUNS == features.MEMO_RUNS == 5_000
