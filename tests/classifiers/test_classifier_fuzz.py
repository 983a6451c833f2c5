"""Hypothesis: any Unicode string classifies without error, with a score in [0, 1]."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classifiers.model import UrgencyModel


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
@example(text="")
@example(text="急" * 10000)
@example(text="😭🆘🙏🏻👨‍👩‍👧" * 50)
@example(text="\x00\x01\x1b[31m\u200b\u202e\ufeff\r\n\t")
@example(text="\ud800" if False else "\uffff\U0010ffff")
@example(text="<PHONE> 13800000000 11010519491231002X")
def test_any_text_classifies(tiny_model: UrgencyModel, text: str) -> None:
    p = tiny_model.predict(text)
    assert 0.0 <= p.score <= 1.0 and not math.isnan(p.score)
    assert 0.0 <= p.category_score <= 1.0
    assert p.band in ("auto", "review", "below")
    assert "13800000000" not in str(p.to_dict())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=50), max_size=20), batch=st.integers(1, 7))
def test_batches_do_not_change_scores(tiny_model: UrgencyModel, texts: list[str], batch: int) -> None:
    whole = [p.score for p in tiny_model.predict_many(texts)]
    parts = [p.score for p in tiny_model.predict_many(texts, batch_size=batch)]
    assert whole == parts
