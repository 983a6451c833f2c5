"""The safety net (安全网): a section of rules.yaml that never lets a person at risk stay 'below'."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rules_helpers import HEADER, REPO, FakeHistory, kinds, make_ctx

from bot.cli.rules_cmd import rules
from bot.errors import RulesError
from bot.rules import RuleSet, RulesHolder, load_rules, load_rules_text

NET = """\
safety_net:
  words:
    person at risk: [产妇, 孕妇, 透析, icu病人]
    care blocked or late: [住院, 医院不收, 不收, 等着, 进不去, 停了]
  then:
    - open_case: {priority: P2, queue: editors, route: auto, status: review}
    - tag: safety_net
"""
RULES = """\
rules:
  - name: followup
    when: {has_open_case: true}
    then: [attach_case]
  - name: urgent_auto
    when: {band: auto}
    then:
      - reply: 电话发我
      - open_case: {priority: P1}
  - name: faq_result
    when:
      band: below
      keywords: {all: [核酸], any: [什么时候出]}
    then:
      - reply: "一般 24 小时内出结果。"
      - tag: faq
  - name: watch
    mode: shadow
    when: {keywords: [透析]}
    then: [{tag: watch}]
"""


def net_rules(net: str = NET, rules_part: str = RULES) -> RuleSet:
    return load_rules_text(HEADER + rules_part + net)


def test_a_person_at_risk_with_blocked_care_opens_a_review_case_with_the_words_as_reason() -> None:
    d = net_rules().evaluate(make_ctx("产妇等着住院，医院说要核酸证明"), FakeHistory())
    assert d.matched_rules == ("safety_net",)
    assert kinds(d) == ["open_case", "tag"]
    case = d.actions[0].params
    assert case["status"] == "review" and case["priority"] == "P2" and case["route"] == "duty"
    assert case["reason"] == d.reason == "安全网：产妇 + 住院 + 等着"  # group order, then file order
    trace = d.trace[-1]
    assert trace.rule == "safety_net" and trace.matched
    assert trace.conditions == (("person at risk: 产妇", True), ("care blocked or late: 住院, 等着", True),
                                ("no case from the rules", True))


@pytest.mark.parametrize(("text", "reason"), [
    ("產婦等著住院，醫院不收", "安全网：产妇 + 住院 + 医院不收 + 等着"),  # traditional characters
    ("ＩＣＵ病人进不去医院", "安全网：icu病人 + 进不去"),  # full-width letters
    ("孕　妇", None),  # a full-width space splits the word: not the word
    ("我爸的透析停了", "安全网：透析 + 停了"),
])
def test_words_match_after_the_usual_tidying(text: str, reason: str | None) -> None:
    d = net_rules().evaluate(make_ctx(text), FakeHistory())
    assert (d.reason or None) == reason


def test_a_word_inside_a_longer_word_found_is_not_repeated() -> None:
    d = net_rules().evaluate(make_ctx("孕妇被医院不收"), FakeHistory())
    assert d.reason == "安全网：孕妇 + 医院不收"  # not "+ 不收"


@pytest.mark.parametrize("text", [
    "核酸结果什么时候出？",  # no person at risk
    "孕妇可以打疫苗吗",  # no blocked care
    "针对孕产妇、血透患者全力保障诊疗服务",  # names patients, nothing blocked
])
def test_one_group_alone_is_not_enough(text: str) -> None:
    d = net_rules().evaluate(make_ctx(text), FakeHistory())
    assert "safety_net" not in d.matched_rules and d.reason == ""
    assert d.trace[-1].rule == "safety_net" and not d.trace[-1].matched


def test_an_faq_answer_is_held_back_whatever_the_order_of_the_rules() -> None:
    text = "产妇等着住院，核酸结果什么时候出？"
    for rules_part in (RULES, RULES.replace("rules:\n", "rules:\n  - name: first_faq\n    when: {band: below, "
                                            "keywords: [核酸]}\n    then: [{reply: 请看菜单}]\n", 1)):
        d = net_rules(rules_part=rules_part).evaluate(make_ctx(text), FakeHistory())
        assert "reply" not in kinds(d)
        assert d.matched_rules[-1] == "safety_net" and d.reason == "安全网：产妇 + 住院 + 等着"
        faq = next(t for t in d.trace if t.rule in ("faq_result", "first_faq") and t.matched)
        assert faq.suppressed == ("safety_net",)
    # the same question without a person at risk still gets its answer
    d = net_rules().evaluate(make_ctx("核酸结果什么时候出？还在等着"), FakeHistory())
    assert kinds(d) == ["reply", "tag"] and d.reason == ""


def test_the_net_stays_out_when_the_rules_already_have_a_case() -> None:
    rs = net_rules()
    auto = rs.evaluate(make_ctx("产妇等着住院，很急", band="auto"), FakeHistory())
    assert auto.matched_rules == ("urgent_auto",) and kinds(auto) == ["reply", "open_case"]
    assert auto.trace[-1].conditions[-1] == ("no case from the rules (rule urgent_auto has one)", False)
    followup = rs.evaluate(make_ctx("产妇还在等着住院", open_case_id=7), FakeHistory())
    assert followup.matched_rules == ("followup",) and kinds(followup) == ["attach_case"]


def test_shadow_rules_are_untouched_and_a_disabled_net_does_nothing() -> None:
    d = net_rules().evaluate(make_ctx("我爸透析停了"), FakeHistory())
    assert [a.kind for a in d.shadow_actions] == ["tag"] and d.matched_rules == ("safety_net",)
    off = net_rules(NET.replace("safety_net:\n", "safety_net:\n  enabled: false\n"))
    d = off.evaluate(make_ctx("我爸透析停了"), FakeHistory())
    assert d.matched_rules == () and d.actions == () and all(t.rule != "safety_net" for t in d.trace)


def test_bad_fields_are_located_with_file_line_and_field() -> None:
    with pytest.raises(RulesError) as err:
        net_rules(NET.replace("  then:", "  than:"))
    messages = [str(p) for p in err.value.problems]
    line = (HEADER + RULES + NET).splitlines().index("  then:") + 1
    assert f"rules.yaml:{line}:3 safety_net.than: unknown key 'than' (did you mean 'then'?)" in messages
    with pytest.raises(RulesError) as err:
        net_rules(NET.replace("person at risk: [产妇, 孕妇, 透析, icu病人]", "person at risk: []"))
    assert any("safety_net.words.person at risk: the list is empty" in str(p) for p in err.value.problems)


def test_hot_reload_picks_up_a_new_word_and_keeps_the_old_net_on_a_mistake(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(HEADER + RULES + NET, encoding="utf-8")
    holder = RulesHolder(path)
    assert holder.current.evaluate(make_ctx("新生儿等着住院"), FakeHistory()).reason == ""
    path.write_text(HEADER + RULES + NET.replace("icu病人]", "icu病人, 新生儿]"), encoding="utf-8")
    assert holder.check()
    assert holder.current.evaluate(make_ctx("新生儿等着住院"), FakeHistory()).reason == "安全网：新生儿 + 住院 + 等着"
    path.write_text(HEADER + RULES + NET.replace("    - tag: safety_net", "    - reply: 别担心"), encoding="utf-8")
    assert not holder.check() and "never replies in public" in (holder.last_error or "")
    assert holder.current.evaluate(make_ctx("新生儿等着住院"), FakeHistory()).reason != ""


def test_rules_test_shows_the_reason_and_the_held_back_answer() -> None:
    out = CliRunner().invoke(rules, ["test", str(REPO / "rules.yaml"), "--band", "below",
                                     "--text", "产妇等着入院，核酸结果什么时候出？"],
                             obj={"predict": None}, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "rule faq_test_result_time: MATCH" in out.output
    assert "reply held back: safety_net" in out.output
    assert "rule safety_net [safety net, after the rules]: MATCH" in out.output
    assert "yes  person at risk: 产妇" in out.output
    assert "case reason: 安全网：产妇 + 入院 + 等着" in out.output
    assert "open_case P2 editors → duty (review) 安全网：产妇 + 入院 + 等着  [safety_net]" in out.output
    assert "reply:" not in out.output


def test_the_shipped_net_has_examples_that_hold() -> None:
    rs = load_rules(REPO / "rules.yaml")
    assert rs.safety_net is not None and [g.name for g in rs.safety_net.groups] == [
        "person at risk", "care blocked or late"]
    net_examples = [e for e in rs.examples if e.name.startswith("safety net")]
    assert len(net_examples) >= 6
    assert any(e.expect.reason_contains for e in net_examples)  # positive cases say why
    assert any(e.expect.actions == () for e in net_examples)  # negative cases
    assert rs.run_examples() == []
