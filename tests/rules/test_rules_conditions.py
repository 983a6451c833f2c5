"""Every condition under `when:`: true when it should be, false otherwise."""

from __future__ import annotations

from datetime import datetime

import pytest
from rules_helpers import WED_10, FakeHistory, build, make_ctx

from bot.clock import SHANGHAI


def matches(when: str, settings: str = "", **ctx_kw: object) -> bool:
    rs = build("- name: r\n  when:\n" + _indent(when, 4) + "\n  then: [feature]\n", settings)
    decision = rs.evaluate(make_ctx(**ctx_kw), FakeHistory())  # type: ignore[arg-type]
    return decision.matched_rules == ("r",)


def _indent(text: str, n: int) -> str:
    import textwrap

    return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * n)


@pytest.mark.parametrize(("when", "band", "expected"), [
    ("band: auto", "auto", True),
    ("band: auto", "review", False),
    ("band: [auto, review]", "review", True),
    ("band: [auto, review]", "below", False),
    ("band: below", "below", True),
])
def test_band(when: str, band: str, expected: bool) -> None:
    assert matches(when, band=band) is expected


@pytest.mark.parametrize(("when", "score", "expected"), [
    ("min_score: 0.8", 0.8, True),
    ("min_score: 0.8", 0.79, False),
    ("max_score: 0.3", 0.3, True),
    ("max_score: 0.3", 0.31, False),
    ("min_score: 0.2\nmax_score: 0.4", 0.3, True),
    ("min_score: 0.2\nmax_score: 0.4", 0.5, False),
])
def test_score_range(when: str, score: float, expected: bool) -> None:
    assert matches(when, band="review", score=score) is expected


@pytest.mark.parametrize(("when", "category", "expected"), [
    ("category: 核酸检测", "核酸检测", True),
    ("category: 核酸检测", "健康码", False),
    ("category: [核酸检测, 健康码]", "健康码", True),
])
def test_category(when: str, category: str, expected: bool) -> None:
    assert matches(when, category=category) is expected


@pytest.mark.parametrize(("when", "text", "expected"), [
    ("keywords: [核酸, 结果]", "结果呢", True),
    ("keywords: [核酸, 结果]", "你好", False),
    ("keywords:\n  any: [核酸]", "做了核酸", True),
    ("keywords:\n  all: [核酸, 结果]", "核酸结果", True),
    ("keywords:\n  all: [核酸, 结果]", "核酸做了", False),
    ("keywords:\n  none: [谢谢]", "核酸", True),
    ("keywords:\n  none: [谢谢]", "谢谢小编", False),
    ("keywords:\n  any: [核酸]\n  none: [谢谢]", "核酸好了谢谢", False),
    # normalised on both sides: traditional, full-width and case do not matter
    ("keywords: [醫院]", "去医院", True),
    ("keywords: [医院]", "去醫院", True),
    ("keywords: [ｐｃｒ]", "PCR 结果", True),
    ("keywords: [PCR]", "ｐｃｒ结果", True),
])
def test_keywords(when: str, text: str, expected: bool) -> None:
    assert matches(when, text=text) is expected


@pytest.mark.parametrize(("when", "text", "expected"), [
    (r'regex: "核酸.{0,6}(没出|还没)"', "核酸结果还没出", True),
    (r'regex: "核酸.{0,6}(没出|还没)"', "核酸出了", False),
    (r'regex: ["^谢谢", "\\d{2}个?小时"]', "等了12小时", True),
    (r'regex: "abc"', "ABC", True),  # text is lower-cased and the match ignores case
])
def test_regex(when: str, text: str, expected: bool) -> None:
    assert matches(when, text=text) is expected


def test_regex_only_looks_at_the_first_2000_characters() -> None:
    assert matches('regex: "needle"', text="x" * 1990 + "needle")
    assert not matches('regex: "needle"', text="x" * 2500 + "needle")


def test_account_and_article() -> None:
    assert matches("account: gh_test", account="gh_test")
    assert not matches("account: [gh_a, gh_b]", account="gh_test")
    assert matches("article:\n  msg_data_id: 2247487033_1", msg_data_id="2247487033_1")
    assert not matches("article:\n  msg_data_id: 2247487033_1", msg_data_id="2247487033_2")
    assert matches("article:\n  title_contains: [核酸]", article_title="关于核酸检测的通知")
    assert not matches("article:\n  title_contains: 疫苗", article_title="关于核酸检测的通知")


def test_msg_data_id_is_read_as_written_not_as_a_number() -> None:
    # YAML 1.1 would read 2247487033_3 as the integer 22474870333
    assert matches("article:\n  msg_data_id: 2247487033_3", msg_data_id="2247487033_3")


def _at(hh: int, mm: int = 0, day: int = 12) -> datetime:
    return datetime(2022, 1, day, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("hour", "minute", "expected"), [
    (22, 59, False), (23, 0, True), (3, 0, True), (6, 59, True), (7, 0, False), (12, 0, False),
])
def test_quiet_hours_condition_in_beijing_time(hour: int, minute: int, expected: bool) -> None:
    settings = 'quiet_hours: "23:00-07:00"'
    assert matches("quiet_hours: true", settings, now=_at(hour, minute)) is expected
    assert matches("quiet_hours: false", settings, now=_at(hour, minute)) is (not expected)


def test_quiet_hours_uses_beijing_time_whatever_the_clock_zone() -> None:
    from datetime import UTC

    settings = 'quiet_hours: "23:00-07:00"'
    # 16:00 UTC is midnight in Beijing
    assert matches("quiet_hours: true", settings, now=datetime(2022, 1, 12, 16, 0, tzinfo=UTC))
    assert not matches("quiet_hours: true", settings, now=datetime(2022, 1, 12, 4, 0, tzinfo=UTC))


def test_working_hours_with_weekdays() -> None:
    settings = 'working_hours:\n  between: "09:00-18:00"\n  weekdays: mon-fri'
    assert matches("working_hours: true", settings, now=_at(10, day=12))  # Wednesday
    assert not matches("working_hours: true", settings, now=_at(10, day=15))  # Saturday
    assert not matches("working_hours: true", settings, now=_at(19, day=12))


def test_between_and_weekdays() -> None:
    assert matches('between: "22:00-07:00"', now=_at(23))
    assert not matches('between: "22:00-07:00"', now=_at(8))
    assert matches('between: "00:00-24:00"', now=_at(23, 59))
    assert matches("weekdays: [周六, 周日]", now=_at(10, day=15))
    assert not matches("weekdays: [sat, sun]", now=WED_10)
    assert matches("weekdays: wed", now=WED_10)
    assert matches("weekdays: [fri-mon]", now=_at(10, day=16))  # Sunday, a range across the week end


@pytest.mark.parametrize(("when", "kw", "expected"), [
    ("first_comment: true", {"previous_comments": 0}, True),
    ("first_comment: true", {"previous_comments": 2}, False),
    ("first_comment: false", {"previous_comments": 2}, True),
    ("has_open_case: true", {"open_case_id": 7}, True),
    ("has_open_case: true", {}, False),
    ("has_open_case: false", {}, True),
    ("has_phone: true", {"text": "电话 13800000000"}, True),
    ("has_phone: true", {"text": "电话 138 0000 0000"}, True),
    ("has_phone: true", {"text": "没有电话"}, False),
    ("has_phone: false", {"text": "没有电话"}, True),
    ("has_id: true", {"text": "身份证 11010519491231002X"}, True),
    ("has_id: true", {"text": "身份证 110105194912310021"}, False),  # checksum fails
])
def test_writer_and_personal_data(when: str, kw: dict[str, object], expected: bool) -> None:
    assert matches(when, **kw) is expected


def test_route_condition() -> None:
    assert matches("route: nanshan", text="我在南山区")
    assert matches("route: duty", text="我在外地")
    assert not matches("route: [pku_sz]", text="我在南山区")


def test_all_conditions_must_hold_and_empty_when_always_matches() -> None:
    assert matches("band: auto\nkeywords: [核酸]", band="auto", text="核酸")
    assert not matches("band: auto\nkeywords: [核酸]", band="auto", text="疫苗")
    rs = build("""
        - name: always
          then: [feature]
        """)
    assert rs.evaluate(make_ctx(), FakeHistory()).matched_rules == ("always",)


def test_trace_names_every_condition_with_its_value() -> None:
    rs = build("""
        - name: r
          when:
            band: auto
            keywords: [核酸]
            has_phone: true
          then: [feature]
        """)
    d = rs.evaluate(make_ctx("核酸 13800000000", band="review"), FakeHistory())
    assert d.trace[0].conditions == (
        ("band: auto", False), ("keywords any: 核酸", True), ("has_phone: true", True),
    )
    assert not d.trace[0].matched
    assert "13800000000" not in repr(d)
