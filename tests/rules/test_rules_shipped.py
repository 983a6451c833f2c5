"""The shipped rules.yaml encodes the flow in DEVELOPERS.md."""

from __future__ import annotations

from rules_helpers import REPO, WED_10, FakeHistory, kinds, make_ctx

from bot.rules import load_rules

RS = load_rules(REPO / "rules.yaml")


def test_urgent_auto_band_replies_opens_p1_and_notifies_the_route() -> None:
    d = RS.evaluate(make_ctx("老婆怀孕要住院，核酸结果没出，北大深圳医院，真的挺急", band="auto"), FakeHistory())
    assert kinds(d) == ["reply", "open_case", "notify", "tag"]
    assert d.actions[0].params["text"] == "电话发我"
    assert d.actions[1].params["priority"] == "P1" and d.actions[1].params["status"] == "awaiting_contact"
    assert d.actions[2].params["group"] == "pku_sz" and d.route == "pku_sz"


def test_review_band_opens_a_case_without_a_public_reply() -> None:
    d = RS.evaluate(make_ctx("孕妇没有核酸能进医院吗", band="review"), FakeHistory())
    assert kinds(d) == ["open_case", "tag"]
    assert d.actions[0].params["status"] == "review" and d.actions[0].params["priority"] == "P2"


def test_phone_followup_attaches_never_features_and_notifies_with_the_number() -> None:
    ctx = make_ctx("电话13800000000", open_case_id=9, open_case_route="pku_sz", previous_comments=1)
    d = RS.evaluate(ctx, FakeHistory())
    assert kinds(d) == ["attach_case", "unfeature", "notify", "tag"]
    assert d.actions[0].params["status"] == "contact_received"
    notify = d.actions[2]
    assert notify.params["group"] == "pku_sz"
    assert "{phone}" in notify.params["template"] and "138****0000" in notify.params["text"]
    assert "13800000000" not in repr(d)


def test_a_second_urgent_comment_joins_the_open_case() -> None:
    d = RS.evaluate(make_ctx("还没人联系我", band="auto", open_case_id=9), FakeHistory())
    assert kinds(d) == ["attach_case", "notify"]


def test_plain_answers_for_common_questions() -> None:
    d = RS.evaluate(make_ctx("核酸结果多久能出"), FakeHistory())
    assert d.matched_rules == ("faq_test_result_time",) and "24 小时" in d.actions[0].params["text"]
    d = RS.evaluate(make_ctx("健康码变黄了怎么办"), FakeHistory())
    assert d.matched_rules == ("faq_yellow_code",)
    d = RS.evaluate(make_ctx("健康码变黄了，孕妇要住院，很急"), FakeHistory())
    assert "faq_yellow_code" not in d.matched_rules  # its none: words keep it out
    assert d.matched_rules == ("safety_net",)  # ... and the safety net opens a review case
    d = RS.evaluate(make_ctx("健康码变黄了怎么办", now=WED_10.replace(hour=2)), FakeHistory())
    faq = next(t for t in d.trace if t.rule == "faq_yellow_code")
    assert kinds(d) == ["tag"] and faq.suppressed == ("quiet_hours",)


def test_the_shadow_rule_only_records() -> None:
    d = RS.evaluate(make_ctx("我爸要透析"), FakeHistory())
    assert d.actions == () and [a.kind for a in d.shadow_actions] == ["notify", "tag"]
