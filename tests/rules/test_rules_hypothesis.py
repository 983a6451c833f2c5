"""Property tests: nothing a person can type into rules.yaml crashes the loader, and nothing a
commenter can write crashes the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_helpers import REPO, FakeHistory, make_ctx

from bot.errors import RulesError
from bot.rules import RuleSet, load_rules, load_rules_text
from bot.rules.actions import _PARSERS
from bot.rules.conditions import WHEN_KEYS
from bot.rules.loader import RULE_KEYS, TOP_KEYS
from bot.rules.sections import SETTINGS_KEYS

VOCAB = sorted({*TOP_KEYS, *RULE_KEYS, *WHEN_KEYS, *_PARSERS, *SETTINGS_KEYS, "any", "all", "none",
                "text", "group", "names", "fallback", "table", "priority", "route", "status", "label",
                "mention", "count", "per", "between", "weekdays", "expect", "band", "duty", "auto"})
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["auto", "review", "below", "P1", "route", "duty", "22:00-07:00", "10m", "{phone}",
                     "{route_label}", "(a+)+", "核酸", "电话发我", "stop", "feature", "", "~", "yes"]),
    st.text(max_size=20),
)
KEYS = st.one_of(st.sampled_from(VOCAB), st.text(max_size=8))
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)),
    max_leaves=30,
)


def _loads_or_rules_error(text: str) -> None:
    try:
        rs = load_rules_text(text)
    except RulesError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
        assert "Traceback" not in str(exc)
    else:
        assert isinstance(rs, RuleSet)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(TREES)
def test_random_yaml_documents_never_crash_the_loader(tree: object) -> None:
    _loads_or_rules_error(yaml.safe_dump(tree, allow_unicode=True))


@FAST
@given(st.dictionaries(st.sampled_from(["settings", "groups", "routes", "rules", "examples"]), TREES, max_size=5),
       st.lists(st.dictionaries(st.sampled_from(RULE_KEYS), TREES, max_size=5), max_size=3))
def test_rule_shaped_documents_never_crash_the_loader(top: dict[str, object], rules: list[object]) -> None:
    doc = {"groups": {"duty": "值班组"}, "routes": {"fallback": "duty"}, **top}
    if rules:
        doc["rules"] = rules
    _loads_or_rules_error(yaml.safe_dump(doc, allow_unicode=True))


@FAST
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    _loads_or_rules_error(text)


SHIPPED = (REPO / "rules.yaml").read_text(encoding="utf-8")


@FAST
@given(st.integers(0, len(SHIPPED)), st.text(max_size=5))
def test_small_edits_of_the_shipped_file_never_crash_the_loader(at: int, insert: str) -> None:
    _loads_or_rules_error(SHIPPED[:at] + insert + SHIPPED[at:])


RS = load_rules(REPO / "rules.yaml")


@FAST
@given(
    text=st.text(max_size=400),
    band=st.sampled_from(["auto", "review", "below"]),
    score=st.floats(allow_nan=True, allow_infinity=True),
    minutes=st.integers(-10**6, 10**6),
    case=st.one_of(st.none(), st.integers(1, 10**6)),
    title=st.text(max_size=50),
    count=st.integers(-5, 100),
)
def test_evaluate_never_raises_and_is_deterministic(
    text: str, band: str, score: float, minutes: int, case: int | None, title: str, count: int
) -> None:
    now = datetime(2022, 1, 12, tzinfo=UTC) + timedelta(minutes=minutes)
    ctx = make_ctx(text, band=band, score=score, now=now, open_case_id=case, article_title=title,
                   last_reply_at=now - timedelta(minutes=abs(minutes) % 30))
    history = FakeHistory(count=count)
    first = RS.evaluate(ctx, history)
    assert first == RS.evaluate(ctx, history)
    assert first.rules_version == RS.version
    for action in first.actions:
        if action.kind == "reply":
            assert len(action.params["text"]) <= 200
