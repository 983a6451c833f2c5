"""The segmenter: rjieba where it gives jieba's tokens, jieba everywhere else (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers import segment
from classifiers.paths import USERDICT

TIES = ["急急急我该哭还是该笑", "啊啊啊啊啊啊啊啊啊啊啊", "哈哈哈哈哈", "好的好的好的"]
PLAIN = ["老婆见红了医院要核酸报告", "透析病人断药了", "请问核酸结果什么时候出", "abc123核酸检测"]


def _jieba(userdict: tuple[str, ...], text: str) -> list[str]:
    return [w for w in segment.segmenter(userdict).lcut(text, HMM=True) if w.strip()]


@pytest.fixture()
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test builds its own cutters."""
    monkeypatch.setattr(segment, "_CUTTERS", {})
    monkeypatch.setattr(segment, "CHOSEN", {})


def test_cutter_gives_jiebas_tokens_with_the_user_dictionary(fresh: None) -> None:
    ud = segment.read_userdict(USERDICT)
    cut = segment.cutter(ud)
    for text in TIES + PLAIN + ["核酸报告", "抗原检测阳性"]:
        assert cut(text) == _jieba(ud, text), text
    assert segment.CHOSEN[segment.userdict_sha256(ud)[:12]] == "rjieba+jieba"


def test_ties_go_to_jieba(fresh: None) -> None:
    assert all(segment.SQUARE.search(t) for t in TIES)
    assert not any(segment.SQUARE.search(t) for t in PLAIN)


def test_another_dictionary_is_checked_against_jieba_live(fresh: None) -> None:
    ud = ("核酸结果单 50 n",)
    cut = segment.cutter(ud)
    assert cut("我的核酸结果单呢") == _jieba(ud, "我的核酸结果单呢")
    assert segment.CHOSEN[segment.userdict_sha256(ud)[:12]] == "rjieba+jieba"


def test_env_forces_jieba(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(segment.ENV, "jieba")
    segment.cutter(("测试 5 n",))("测试一下")
    assert segment.CHOSEN[segment.userdict_sha256(("测试 5 n",))[:12]].startswith("jieba")


def test_missing_rjieba_falls_back_to_jieba(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_ud: tuple[str, ...]) -> None:
        raise ImportError("No module named 'rjieba'")

    monkeypatch.setattr(segment, "_rust", broken)
    ud = ("透析液 5 n",)
    assert segment.cutter(ud)("透析液断了") == _jieba(ud, "透析液断了")
    assert "rjieba unusable" in segment.CHOSEN[segment.userdict_sha256(ud)[:12]]


def test_a_differing_check_text_falls_back_to_jieba(
    fresh: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ud = ("血透室 5 n",)
    check = tmp_path / "check.json"
    check.write_text(json.dumps({
        "jieba_version": __import__("jieba").__version__,
        "userdict_sha256": segment.userdict_sha256(ud),
        "texts": ["血透室没人"], "tokens": [["血", "透室", "没人"]],  # not what jieba says
    }, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(segment, "CHECK_FILE", check)
    assert segment.cutter(ud)("血透室没人") == _jieba(ud, "血透室没人")
    assert "differs" in segment.CHOSEN[segment.userdict_sha256(ud)[:12]]


def test_the_shipped_check_file_is_for_the_bundled_dictionary() -> None:
    saved = json.loads(segment.CHECK_FILE.read_text(encoding="utf-8"))
    assert saved["userdict_sha256"] == segment.userdict_sha256(segment.read_userdict(USERDICT))
    assert len(saved["texts"]) == len(saved["tokens"]) >= 100
    assert not any(segment.SQUARE.search(t) for t in saved["texts"])


def test_the_cutters_memo_stays_bounded(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: the memo of segmented texts is cleared once past MEMO_TEXTS, tokens unchanged."""
    ud = segment.read_userdict(USERDICT)
    monkeypatch.setattr(segment, "MEMO_TEXTS", 5)
    cut = segment.cutter(ud)
    cells = dict(zip(cut.__code__.co_freevars, cut.__closure__ or (), strict=True))
    if "memo" not in cells:
        pytest.skip("jieba chosen: no memo")
    texts = [f"透析病人第{i}次断药" for i in range(40)]
    for text in texts:
        assert cut(text) == _jieba(ud, text)
        assert len(cells["memo"].cell_contents) <= 6
