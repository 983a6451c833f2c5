"""The compact jieba dictionary gives jieba's tokens without loading jieba's whole dictionary."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from classifiers import jieba_dict, segment
from classifiers.features import pieces
from classifiers.normalize import normalize
from classifiers.paths import DATA_DIR, USERDICT

TIE_PRONE = [
    "急急急", "急急急急", "哈哈哈哈", "哈哈哈哈哈哈哈", "好的好的好的", "谢谢谢谢", "谢谢谢谢谢",
    "急急急我妈胸口疼喘不上气", "哈哈哈哈糖尿病人能吃西瓜吗", "好的好的好的核酸报告明天出",
    "谢谢谢谢医生血压180头晕", "救命救命孩子高烧39度抽搐了", "疼疼疼肚子疼一晚上了",
    "透析透析透析病人断药了", "啊啊啊啊啊啊", "abab核酸abab", "嗯嗯嗯好的好的谢谢谢谢",
    "急急急！哈哈哈哈", "心梗心梗心梗", "我我我我头好晕", "呜呜呜呜宝宝吐奶了",
]


def _jieba(userdict: tuple[str, ...], text: str) -> list[str]:
    return [w for w in segment.segmenter(userdict).lcut(text, HMM=True) if w.strip()]


@pytest.fixture(scope="module")
def userdict() -> tuple[str, ...]:
    return segment.read_userdict(USERDICT)


@pytest.fixture(scope="module")
def built(userdict: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = jieba_dict.path_for(userdict, tmp_path_factory.mktemp("segment"))
    assert path is not None
    return jieba_dict.build(userdict, path)


def _corpus_squares(n: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA_DIR.glob("*.jsonl")) + sorted((DATA_DIR / "corpus").glob("*.jsonl")):
        import json

        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = str(json.loads(line).get("text", ""))
                texts += pieces(normalize(text)) + pieces(text)
    squares = sorted({t for t in texts if segment.SQUARE.search(t)})
    return random.Random(16).sample(squares, min(n, len(squares)))


def test_the_compact_dictionary_gives_jiebas_tokens(userdict: tuple[str, ...], built: Path) -> None:
    pd = jieba_dict.load(userdict, built)
    assert pd is not None
    texts = TIE_PRONE + _corpus_squares(400)
    assert len(texts) > 300
    for text in texts:
        assert pd.cut(text) == _jieba(userdict, text), text


def test_a_text_needs_only_its_own_entries(userdict: tuple[str, ...], built: Path) -> None:
    pd = jieba_dict.load(userdict, built)
    assert pd is not None
    entries = pd.entries_of("急急急我妈胸口疼")
    full = segment.segmenter(userdict).FREQ
    assert 0 < len(entries) < 100
    assert all(full[w] == f for w, f in entries.items())
    assert pd.total == segment.segmenter(userdict).total


def test_another_user_dictionary_is_its_own_file(tmp_path: Path) -> None:
    ud = ("急急急 5 n", "哈哈哈 0", "核酸结果单 50 n")
    path = jieba_dict.path_for(ud, tmp_path)
    assert path is not None and path != jieba_dict.path_for(("急急急 5 n",), tmp_path)
    pd = jieba_dict.load(ud, jieba_dict.build(ud, path))
    assert pd is not None
    for text in TIE_PRONE + ["我的核酸结果单呢急急急", "哈哈哈哈哈哈"]:
        assert pd.cut(text) == _jieba(ud, text), text


def test_a_stale_or_damaged_file_is_not_used(userdict: tuple[str, ...], built: Path,
                                              tmp_path: Path) -> None:
    assert jieba_dict.load(userdict + ("新词 5 n",), built) is None  # another dictionary
    data = bytearray(built.read_bytes())
    for name, damaged in {
        "truncated": data[:-100],
        "flipped": data[:-50] + bytes([data[-50] ^ 1]) + data[-49:],
        "empty": bytearray(),
        "not ours": bytearray(b"hello\n"),
    }.items():
        bad = tmp_path / f"{name}.dict"
        bad.write_bytes(bytes(damaged))
        assert jieba_dict.load(userdict, bad) is None, name
    assert jieba_dict.load(userdict, tmp_path / "missing.dict") is None


def test_a_probe_that_segments_differently_rejects_the_file(
    userdict: tuple[str, ...], built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jieba_dict.PrefixDict, "cut", lambda self, text: list(text))
    assert jieba_dict.load(userdict, built) is None


@pytest.fixture()
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(segment, "_CUTTERS", {})
    monkeypatch.setattr(segment, "CHOSEN", {})
    monkeypatch.setattr(segment, "TIES_CHOSEN", {})
    monkeypatch.setenv(jieba_dict.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_cutter_writes_the_file_on_first_use_then_reads_it(fresh: Path) -> None:
    ud = ("血透室 5 n",)
    name = segment.userdict_sha256(ud)[:12]
    assert segment.cutter(ud)("急急急血透室没人") == _jieba(ud, "急急急血透室没人")
    assert "written" in segment.TIES_CHOSEN[name]
    assert len(list(fresh.glob("jieba-*.dict"))) == 1
    segment._CUTTERS.clear()
    cut = segment.cutter(ud)
    for text in TIE_PRONE + ["血透室血透室"]:
        assert cut(text) == _jieba(ud, text), text
    assert segment.TIES_CHOSEN[name].startswith("compact dictionary")


def test_cache_off_loads_jieba_whole(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(jieba_dict.CACHE_ENV, "off")
    ud = ("血透室 5 n",)
    assert segment.cutter(ud)("哈哈哈哈") == _jieba(ud, "哈哈哈哈")
    assert segment.TIES_CHOSEN[segment.userdict_sha256(ud)[:12]] == "jieba (DIANHUA_SEGMENT_CACHE=off)"
    assert not fresh.exists()


def test_an_unwritable_cache_falls_back_to_jieba(fresh: Path) -> None:
    fresh.parent.mkdir(exist_ok=True)
    fresh.write_text("a file, not a directory", encoding="utf-8")
    ud = ("血透室 5 n",)
    assert segment.cutter(ud)("谢谢谢谢") == _jieba(ud, "谢谢谢谢")
    assert "not written" in segment.TIES_CHOSEN[segment.userdict_sha256(ud)[:12]]


def test_the_command_checks_or_builds_the_bundled_dictionarys_file(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert jieba_dict.main(["--dir", str(built.parent)]) == 0  # what `make install` runs
    assert f"{built}: 498" in capsys.readouterr().out
