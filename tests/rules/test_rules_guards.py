"""Templates and regular expressions are checked before they can hurt anyone."""

from __future__ import annotations

import pytest

from bot.rules.regexguard import MAX_TEXT, UnsafePattern, compile_pattern, safe_search
from bot.rules.templates import (
    REPLY_MAX_CHARS,
    check_template,
    template_variables,
    worst_case_length,
)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\d*)*", r"(\w+\s?)+$", r"((ab)*c)*", r"(?:x+y*)+z", r"(a{1,5})+"])
def test_nested_repeats_are_refused(pattern: str) -> None:
    with pytest.raises(UnsafePattern, match="repeat inside a repeat"):
        compile_pattern(pattern)


@pytest.mark.parametrize("pattern", [r"核酸.{0,10}(结果|报告)", r"(a|b)+", r"(\d{3}-)+\d{4}", r"^谢谢", r"\d{2}个?小时"])
def test_ordinary_patterns_compile(pattern: str) -> None:
    compile_pattern(pattern)


def test_invalid_and_long_patterns() -> None:
    with pytest.raises(UnsafePattern, match="not a valid regular expression"):
        compile_pattern("核酸(")
    with pytest.raises(UnsafePattern, match="too long"):
        compile_pattern("a" * 301)


def test_search_is_capped_and_never_raises() -> None:
    p = compile_pattern("needle")
    assert safe_search(p, "x" * (MAX_TEXT - 6) + "needle")
    assert not safe_search(p, "x" * MAX_TEXT + "needle")
    assert not safe_search(p, None)  # type: ignore[arg-type]


def test_reply_templates() -> None:
    assert check_template("电话发我", public=True) == []
    assert check_template("已转{route_label}，{time}", public=True) == []
    assert "never echoed back" in check_template("{phone}", public=True)[0]
    assert "never echoed back" in check_template("{id_number}", public=True)[0]
    assert "never echoed back" in check_template("你说：{comment}", public=True)[0]
    assert "internal messages only" in check_template("{score}", public=True)[0]
    assert "did you mean 'route_label'" in check_template("{routelabel}", public=True)[0]
    assert "lone '}'" in check_template("a}", public=True)[0]
    assert "not a variable" in check_template("{a.b}", public=True)[0]
    assert "phone or ID" in check_template("拨 138 0000 0000", public=True)[0]
    assert "phone or ID" in check_template("11010519491231002X", public=True)[0]
    assert "empty" in check_template("  ", public=True)[0]
    too_long = "好" * (REPLY_MAX_CHARS - 10) + "{article_title}"
    assert worst_case_length(too_long) == REPLY_MAX_CHARS + 20
    assert "too long for a comment reply" in check_template(too_long, public=True)[0]


def test_notify_templates_may_carry_personal_data() -> None:
    assert check_template("电话 {phone}，身份证 {id_number}：{comment}", public=False) == []
    assert template_variables("{phone} {phone} {comment}") == ["phone", "comment"]
    assert "too long for a group message" in check_template("长" * 700, public=False)[0]
