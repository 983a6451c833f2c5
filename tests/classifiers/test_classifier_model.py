"""The tiny model: predictions, explanations, thresholds, determinism."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from classifiers import KeywordBaseline, Prediction, UrgencyModel
from classifiers.dataset import CATEGORIES
from classifiers.metrics import at_threshold, auto_cut_for_false_share, choose_thresholds
from classifiers.train import TrainResult

URGENT = "老婆怀孕见红了，医院要核酸报告，结果一直没出，进不去，求帮忙"
CALM = "谢谢小编，已经解决了，辛苦了"


def test_predict_gives_a_full_prediction(tiny_model: UrgencyModel) -> None:
    p = tiny_model.predict(URGENT)
    assert isinstance(p, Prediction)
    assert 0.0 <= p.score <= 1.0
    assert p.category in CATEGORIES and 0.0 <= p.category_score <= 1.0
    assert p.model_version == tiny_model.version != ""
    assert p.band == ("auto" if p.score >= tiny_model.thresholds["auto"]
                      else "review" if p.score >= tiny_model.thresholds["review"] else "below")


def test_urgent_request_scores_above_thanks(tiny_model: UrgencyModel) -> None:
    assert tiny_model.predict(URGENT).score > tiny_model.predict(CALM).score


def test_explanation_names_terms_both_ways(tiny_model: UrgencyModel) -> None:
    up = tiny_model.predict(URGENT).top_terms
    down = tiny_model.predict(CALM).top_terms
    assert up and down
    assert any(w > 0 for _, w in up)
    assert any(w < 0 for _, w in down)
    assert all(isinstance(t, str) and t.strip() for t, _ in up + down)
    weights = [abs(w) for _, w in up]
    assert weights == sorted(weights, reverse=True)


def test_explanation_never_shows_a_phone_number(tiny_model: UrgencyModel) -> None:
    p = tiny_model.predict("孩子发烧40度出不去 电话13800000000 或 138****5678")
    assert not any("13800000000" in t or "5678" in t for t, _ in p.top_terms)


def test_predict_many_matches_predict_for_any_batch_size(tiny_model: UrgencyModel) -> None:
    texts = [URGENT, CALM, "", "核酸结果一般多久能出？", "😭😭"]
    one_by_one = [tiny_model.predict(t) for t in texts]
    assert tiny_model.predict_many(texts, batch_size=2) == one_by_one
    assert tiny_model.predict_many([]) == []


def test_thresholds_come_from_the_card(tiny_model: UrgencyModel) -> None:
    th = tiny_model.thresholds
    assert set(th) == {"review", "auto"} and 0 <= th["review"] <= th["auto"] <= 1
    assert tiny_model.card["thresholds"] == th


def test_same_data_and_seed_give_same_predictions(
    tiny: TrainResult, train_tiny: Callable[[int], TrainResult]
) -> None:
    again = train_tiny(42)
    texts = [URGENT, CALM, "孩子发烧", "健康码黄了"]
    assert again.model.predict_many(texts) == tiny.model.predict_many(texts)
    assert again.model.thresholds == tiny.model.thresholds
    assert again.model.version == tiny.model.version


def test_choose_thresholds_meets_policy_on_separable_scores() -> None:
    y = [0] * 50 + [1] * 50
    scores = [i / 200 for i in range(50)] + [0.5 + i / 200 for i in range(50)]
    th = choose_thresholds(y, scores)
    assert at_threshold(y, scores, th.review).recall >= 0.98
    assert at_threshold(y, scores, th.auto).precision >= 0.97
    assert th.review <= th.auto and not th.notes


def test_choose_thresholds_says_when_a_target_cannot_be_met() -> None:
    y = [0, 1] * 20
    scores = [0.5] * 40  # no information at all
    th = choose_thresholds(y, scores)
    assert th.notes and th.review <= th.auto


def test_auto_cut_leaves_at_most_the_share_of_not_urgent_rows_above_it() -> None:
    y = [0] * 400 + [1] * 5
    scores = [i / 1000 for i in range(400)] + [0.99] * 5  # not urgent: 0.000 … 0.399
    cut = auto_cut_for_false_share(y, scores, 0.005)  # 2 of 400 may reach it
    assert sum(s >= cut for s, lab in zip(scores, y, strict=True) if lab == 0) == 2
    assert 0.397 < cut <= 0.398
    none = auto_cut_for_false_share(y, scores, 0.0)
    assert 0.399 < none < 0.3991  # just above the highest not-urgent score
    assert auto_cut_for_false_share([1, 1], [0.2, 0.9], 0.01) == 0.0  # no not-urgent rows


def test_keyword_baseline_matches_after_normalisation(tmp_path: pytest.TempPathFactory) -> None:
    base = KeywordBaseline(["透析", "急"])
    assert base.matches("我媽要洗腎，透析中心不讓進，很急") == ["透析", "急"]
    assert base.score("谢谢小编") == 0.0
    assert len(KeywordBaseline.load()) >= 10
