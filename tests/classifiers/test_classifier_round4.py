"""Round 4 (issue 10): situation/voice features, calibration on held-out writers, bounded
scores, faster explanations, the extended split and the evaluation slices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from bot.cli import main
from classifiers.calibration import (
    WriterCalibratedClassifier,
    expected_calibration_error,
    reliability_bins,
    reliability_png,
)
from classifiers.dataset import (
    Example,
    extend_splits,
    read_jsonl,
    split_examples,
    write_jsonl,
    writer_of,
)
from classifiers.evaluate import EvalSet, evaluate_slices, render_slices
from classifiers.explain import Explainer, top_terms
from classifiers.lexicon import group_counts
from classifiers.model import UrgencyModel
from classifiers.normalize import normalize
from classifiers.persist import load_model
from classifiers.situation import LABELS, situation_row

SLICES = Path(__file__).with_name("slices")


def features(text: str) -> dict[str, float]:
    return {name: v for name, v in zip(LABELS, situation_row(normalize(text)), strict=True)}


# -- situation and voice features -----------------------------------------------------------

def test_a_question_frame_does_not_hide_a_critical_situation() -> None:
    faq = features("核酸结果什么时候能出？")
    crit = features("产妇等着住院要核酸证明才能入住，什么时候能出结果啊？")
    assert faq["question"] > 0 and faq["critical"] == 0 and faq["critical_question"] == 0
    assert crit["critical"] == 1 and crit["critical_question"] == 1


def test_news_voice_is_its_own_signal() -> None:
    news = features("据报道，昨天上午深圳一孕妇因等着住院需要核酸证明，记者从该院获悉其已入院。")
    own = features("我老婆怀孕了，等着住院，医院要核酸证明，结果还没出")
    assert news["reported"] > 0 and news["reported_not_own"] == 1
    assert news["critical_reported"] == 1 and news["critical_own"] == 0
    assert own["critical_own"] == 1 and own["reported_not_own"] == 0


def test_words_inside_quotes_are_someone_elses() -> None:
    quoted = features("有读者写道：“我爸透析停了，出不去”，小编已转给卫健委")
    assert quoted["critical_quoted"] == 1
    assert quoted["first_person"] == 0 and quoted["family"] == 0


def test_traditional_characters_read_like_simplified() -> None:
    assert features("產婦等著住院，核酸結果什麼時候能出？") == features("产妇等着住院，核酸结果什么时候能出？")


def test_lexicon_counts_the_longest_word_once() -> None:
    from classifiers.lexicon import GROUPS

    counts = dict(zip(GROUPS, group_counts("孕妇"), strict=True))
    assert counts["vulnerable"] == 1  # 孕妇, not 孕妇 + 孕


# -- calibration on held-out writers, bounded scores ---------------------------------------

def _toy(n: int = 120) -> tuple[sparse.csr_matrix, np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    y = np.array([i % 2 for i in range(n)])
    x = rng.normal(size=(n, 3)) + y[:, None] * 4.0  # easily separable: raw scores are extreme
    writers = [f"w{i % 4}" for i in range(n)]
    return sparse.csr_matrix(x), y, writers


def test_calibration_uses_writer_folds_and_bounds_scores() -> None:
    x, y, writers = _toy()
    clf = WriterCalibratedClassifier(bound=0.01).fit(x, y, groups=writers)
    assert "by writer" in clf.fold_kind_
    far = sparse.csr_matrix(np.array([[1e6, 1e6, 1e6], [-1e6, -1e6, -1e6]]))
    p = clf.predict_proba(far)
    assert p[0, 1] == pytest.approx(0.99) and p[1, 1] == pytest.approx(0.01)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert set(clf.predict(far)) == {0, 1}


def test_one_class_writers_fall_back_to_stratified_folds() -> None:
    x, y, _ = _toy()
    writers = [f"u{v}" for v in y]  # each writer holds one class only
    clf = WriterCalibratedClassifier(method="isotonic").fit(x, y, groups=writers)
    assert "stratified" in clf.fold_kind_
    assert clf.predict_proba(x)[:, 1].min() > 0.0 and clf.predict_proba(x)[:, 1].max() < 1.0


def test_writer_of_reads_the_part_from_the_id() -> None:
    assert writer_of("ca0001") == "ca" and writer_of("cm0457") == "cm"
    assert writer_of("test:12") == "test"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_the_model_never_says_exactly_0_or_1(tiny_model: UrgencyModel, text: str) -> None:
    for t in (text, text * 30, "急救命孕妇见红透析停了出不去" * 40, "谢谢" * 200):
        s = tiny_model.predict(t).score
        assert 0.0 < s < 1.0


@pytest.mark.skipif(not (Path(__file__).parents[2] / "classifiers/bundled/urgent.skops").exists(),
                    reason="no bundled model")
def test_the_bundled_model_never_says_exactly_0_or_1() -> None:
    model = load_model()
    bound = model.card["calibration"]["bound"]
    assert bound > 0
    texts = ["", "谢谢" * 300, "哈哈哈" * 100, "我老婆怀孕见红了，医院要核酸，结果没出，进不去，求救" * 20,
             "孩子高烧抽搐 120打不通 救命 " * 50]
    scores = model.scores(texts)
    assert np.all(scores >= bound) and np.all(scores <= 1 - bound)


def test_expected_calibration_error_by_hand() -> None:
    assert expected_calibration_error([0, 0, 1, 1], [0.1, 0.1, 0.9, 0.9]) == pytest.approx(0.1)
    assert expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.0)
    bins = reliability_bins([0, 1, 1], [0.0, 0.95, 1.0])
    assert sum(b["n"] for b in bins) == 3 and bins[-1]["n"] == 2  # 1.0 falls in the last bin
    assert bins[-1]["urgent_share"] == 1.0 and bins[0]["mean_score"] == 0.0


def test_reliability_png_is_written(tmp_path: Path) -> None:
    out = reliability_png({"a": ([0, 1, 1, 0], [0.2, 0.8, 0.6, 0.3])}, tmp_path / "r.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


# -- explanations ---------------------------------------------------------------------------

def test_fast_explanations_equal_the_reference(tiny_model: UrgencyModel) -> None:
    texts = [json.loads(line)["text"] for line in
             (Path(__file__).with_name("fixture_corpus.jsonl")).read_text("utf-8").splitlines()]
    x = tiny_model._features.transform(texts).tocsr()
    names = tiny_model._feature_names()
    coef = tiny_model._coef
    fast = Explainer(coef, names).many(x)
    assert fast == [top_terms(x[i], coef, names) for i in range(x.shape[0])]


# -- the extended split ---------------------------------------------------------------------

def _ex(i: str, text: str, urgent: int, tags: tuple[str, ...] = ()) -> Example:
    return Example(id=i, text=text, urgent=urgent, category="寻医买药" if urgent else "其他",
                   tags=tags)


def test_extend_split_keeps_every_placed_row_and_appends_new_ones(tmp_path: Path) -> None:
    fixture = Path(__file__).with_name("fixture_corpus.jsonl")
    old, _ = read_jsonl(fixture, need_category=True)
    for name, rows in split_examples(old, seed=42).items():
        write_jsonl(tmp_path / f"{name}.jsonl", rows)
    before = {n: (tmp_path / f"{n}.jsonl").read_text("utf-8") for n in ("train", "valid", "test")}
    new = [
        _ex("cz0001", "老婆破水了，医院要核酸才收，结果什么时候出", 1, ("pair:1",)),
        _ex("cz0002", "核酸结果什么时候出啊，等着上班", 0, ("pair:1",)),
        _ex("cz0003", old[0].text, old[0].urgent),  # an exact copy of a placed comment
    ] + [_ex(f"cz1{i:03d}", f"第{i}号楼的独居老人胰岛素断了{i}天，出不去，求助", 1) for i in range(20)]
    corpus = tmp_path / "corpus.jsonl"
    write_jsonl(corpus, new)
    summary = extend_splits([fixture, corpus], tmp_path, seed=42)
    after = {n: (tmp_path / f"{n}.jsonl").read_text("utf-8") for n in before}
    for n in before:
        assert after[n].startswith(before[n])  # old rows unchanged, in place
    assert summary["duplicates_dropped"] + summary["already_placed"] >= 1
    assert sum(summary["added"].values()) == len(new) - 1
    where = {json.loads(line)["id"]: n for n in after for line in after[n].splitlines()}
    assert where["cz0001"] == where["cz0002"]  # a minimal pair stays together
    again = extend_splits([fixture, corpus], tmp_path, seed=42)
    assert sum(again["added"].values()) == 0  # idempotent


# -- evaluation slices ----------------------------------------------------------------------

def test_evaluate_slices_reports_sets_rows_frames_and_skips(tiny_model: UrgencyModel,
                                                            tmp_path: Path) -> None:
    sets = [
        EvalSet("authored test", SLICES / "test.jsonl"),
        EvalSet("real requests", SLICES / "real.jsonl", must_reach_auto=("r-001",)),
        EvalSet("weibo-dev", tmp_path / "missing.jsonl"),
    ]
    report = evaluate_slices(tiny_model, sets, frames_of="authored test")
    test = report["sets"]["authored test"]
    assert test["n"] == 6 and test["urgent"] == 2 and "metrics" in test and 0 <= test["ece"] <= 1
    real = report["sets"]["real requests"]
    assert [r["id"] for r in real["rows"]] == ["r-001", "r-002"]
    assert all(r["band"] in ("auto", "review", "below") for r in real["rows"])
    assert real["must_reach_auto"]["ids"] == ["r-001"]
    assert set(real["recall"]) == {"review", "auto"}
    assert "not found" in report["sets"]["weibo-dev"]["skipped"]
    frames = report["frames"]
    assert frames["question-framed urgent"]["n"] == 1
    assert frames["news / official voice, not urgent"]["n"] == 1
    assert frames["retelling / quote / comment, not urgent"]["n"] == 2  # st04 is both
    assert frames["thanks / resolved, not urgent"]["n"] == 1
    text = render_slices(report)
    assert "skipped" in text and "r-002" in text and "question-framed urgent" in text


def test_eval_command_prints_slices_and_writes_the_diagram(tiny_path: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "ev"
    res = CliRunner().invoke(main, [
        "eval", "--model", str(tiny_path), "--test", str(SLICES / "test.jsonl"),
        "--real", str(SLICES / "real.jsonl"), "--weibo", str(tmp_path / "none.jsonl"),
        "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "real requests" in res.stdout and "skipped" in res.stdout and "ECE" in res.stdout
    report = json.loads((out / "slices.json").read_text("utf-8"))
    assert set(report["sets"]) == {"authored test", "authored test, a–i", "real requests",
                                   "weibo-dev", "real news, dev", "real news, held out",
                                   "real help, dev", "real help, held out"}
    # the real news sets hold only not-urgent sentences: their share at auto is a public reply
    assert report["sets"]["real news, held out"]["urgent"] == 0
    assert "not-urgent sets (a public reply is an `auto`)" in res.stdout
    assert "skipped" in report["sets"]["authored test, a–i"]  # fixture ids are not a–i
    assert "_scores" not in report["sets"]["authored test"]
    assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_of_one_file_reports_calibration(tiny_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "one"
    res = CliRunner().invoke(main, ["eval", "--data", str(SLICES / "test.jsonl"),
                                    "--model", str(tiny_path), "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "expected calibration error" in res.stdout
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    assert 0 <= metrics["calibration"]["ece"] <= 1
    assert (out / "reliability.png").is_file()


def test_the_repository_split_keeps_the_round_3_rows_first() -> None:
    data = Path(__file__).parents[2] / "data"
    round3 = {"train": 4692, "valid": 1003, "test": 1004}
    for name, n in round3.items():
        rows, bad = read_jsonl(data / f"{name}.jsonl", need_category=True)
        assert not bad
        writers = [writer_of(r.id) for r in rows]
        old = [w in ("ca", "cb", "cc", "cd", "ce", "cf", "cg", "ch", "ci") for w in writers]
        assert old[:n] == [True] * n and not any(old[n:])  # a–i rows first, then round 4
