"""Loading rules.yaml: every problem, located, in plain words; the parts of a good file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from rules_helpers import HEADER, REPO

from bot.errors import Problem, RulesError
from bot.rules import RuleSet, load_rules, load_rules_text, render_template, version_of


def problems(text: str) -> list[Problem]:
    with pytest.raises(RulesError) as info:
        load_rules_text(text)
    assert info.value.problems
    return info.value.problems


def test_issue_example_message_format() -> None:
    text = HEADER + "rules:\n  - name: r\n    when:\n      min_score: 1.5\n    then: [feature]\n"
    (p,) = problems(text)
    line = text.splitlines().index("      min_score: 1.5") + 1
    assert str(p) == f"rules.yaml:{line}:18 rules[0].when.min_score: must be between 0 and 1, got 1.5"


def test_every_problem_is_collected_not_just_the_first() -> None:
    text = (
        "settings:\n  reply_cooldown: soon\n" + HEADER
        + "rules:\n  - name: a\n    when: {band: autoo, min_score: 2}\n    then: [{replay: hi}]\n"
        + "  - name: a\n    then: [feature]\n"
    )
    found = problems(text)
    fields = [p.field for p in found]
    assert fields == [
        "settings.reply_cooldown", "rules[0].when.band", "rules[0].when.min_score",
        "rules[0].then[0]", "rules[1].name",
    ]
    assert all(p.line is not None for p in found)
    assert "did you mean 'reply'?" in found[3].message


def test_unknown_key_suggests_the_closest_or_lists_the_allowed() -> None:
    (p,) = problems(HEADER + "rules:\n  - name: a\n    when: {has_phones: true}\n    then: [feature]\n")
    assert p.message == "unknown key 'has_phones' (did you mean 'has_phone'?)"
    (p,) = problems(HEADER + "rules:\n  - name: a\n    when: {keywords: {zzz: [x]}}\n    then: [feature]\n")
    assert p.message == "unknown key 'zzz' (allowed: all, any, none)"


def test_yes_no_and_clock_times_are_read_as_written() -> None:
    rs = load_rules_text(HEADER + (
        "rules:\n  - name: a\n    when:\n      keywords: [no, yes, 12320]\n      between: 22:00-07:00\n"
        "    then: [{tag: [on]}]\n"
    ))
    assert "keywords any: no, yes, 12320" in rs.rules[0].conditions[0].label
    assert rs.rules[0].actions[0].params["tags"] == ("on",)


def test_a_good_file_has_all_its_parts() -> None:
    rs = load_rules(REPO / "rules.yaml")
    assert isinstance(rs, RuleSet)
    assert rs.version == version_of((REPO / "rules.yaml").read_bytes()) and len(rs.version) == 12
    assert rs.path == REPO / "rules.yaml"
    assert rs.groups["duty"].label == "值班组" and rs.groups["duty"].mention == ("@all",)
    assert rs.routes.fallback == "duty"
    assert rs.settings.replies_enabled is True
    assert rs.settings.reply_cooldown == timedelta(minutes=10)
    assert rs.settings.article_rate_limit is not None and rs.settings.article_rate_limit.count == 30
    assert rs.settings.quiet_hours is not None and str(rs.settings.quiet_hours) == "23:00-07:00"
    assert rs.rule_names[:3] == ("phone_followup", "case_followup", "urgent_auto")
    assert rs.rule("urgent_auto") is not None and rs.rule("nope") is None
    assert len(rs.examples) >= 5
    assert rs.run_examples() == []


def test_version_changes_with_the_bytes() -> None:
    a = load_rules_text(HEADER + "rules:\n  - name: a\n    then: [feature]\n")
    b = load_rules_text(HEADER + "rules:\n  - name: a\n    then: [feature]\n# note\n")
    assert a.version != b.version


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="file not found"):
        load_rules(tmp_path / "nope.yaml")
    with pytest.raises(RulesError, match="folder"):
        load_rules(tmp_path)


def test_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "rules:\n  - name: a\n    then: [feature]\n").encode())
    assert load_rules(path).rule_names == ("a",)


def test_too_many_problems_are_capped() -> None:
    rules = "".join(f"  - name: r{i}\n    when: {{band: x}}\n    then: [feature]\n" for i in range(300))
    found = problems(HEADER + "rules:\n" + rules)
    assert len(found) == 201 and "more problems" in found[-1].message


def test_render_template_basics() -> None:
    assert render_template("{route_label}：{category}", {"route_label": "南山", "category": "核酸检测"}) == "南山：核酸检测"
    assert render_template("{{literal}} {missing}", {}) == "{literal} "
    assert render_template("{article_title}", {"article_title": "长" * 50}) == "长" * 29 + "…"
    assert render_template("{ broken", {}) == "{ broken"


@pytest.mark.parametrize(("line", "expect"), [
    ("      min_score：0.8", "min_score: 全角冒号 '：' — use ':'"),
    ("      min_score:\u30000.8", "min_score: 全角空格 after ':' — use ':'"),
    ("\u3000\u3000\u3000min_score: 0.8", "全角空格 in the indentation — use ordinary spaces"),
])
def test_full_width_colon_or_space_gets_its_own_message(line: str, expect: str) -> None:
    """Issue 12: a Chinese input method's '：' or '　' is named, not 'a ':' in a value'."""
    text = HEADER + f"rules:\n  - name: r\n    when:\n{line}\n    then: [feature]\n"
    found = problems(text)
    number = text.splitlines().index(line) + 1
    assert len(found) == 1 and found[0].line == number and expect in str(found[0]), found


def test_a_quoted_number_says_remove_the_quotes() -> None:
    text = HEADER + 'rules:\n  - name: r\n    when:\n      min_score: "0.8"\n    then: [feature]\n'
    (p,) = problems(text)
    assert "must be a number" in str(p) and 'remove the quotes (write 0.8, not "0.8")' in str(p)


def test_full_width_colons_inside_texts_are_fine() -> None:
    text = HEADER + ('rules:\n  - name: r  # 注意：这是注释\n    when:\n      keywords: ["说明：核酸"]\n'
                     '    then:\n      - reply: "提示：请留电话"\n')
    assert load_rules_text(text).rules[0].name == "r"
