"""Actions, rule order, continue/stop, shadow mode, routes and the reply guardrails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rules_helpers import WED_10, FakeHistory, build, kinds, later, make_ctx

from bot.rules import render_template

URGENT = """
- name: urgent
  when:
    band: auto
  then:
    - reply: "电话发我"
    - open_case:
        priority: P1
        queue: urgent
        route: auto
        status: awaiting_contact
    - notify:
        group: route
        text: "【{priority}】{route_label} 请处理：{comment}（电话 {phone}）"
    - tag: [urgent, p1]
"""


# -- actions -----------------------------------------------------------------------------------
def test_urgent_flow_actions_and_params(history: FakeHistory) -> None:
    rs = build(URGENT)
    d = rs.evaluate(make_ctx("我在北大深圳医院，很急，电话13800000000", band="auto"), history)
    assert kinds(d) == ["reply", "open_case", "notify", "tag"]
    reply, case, notify, tag = d.actions
    assert reply.params["text"] == "电话发我" and reply.rule == "urgent"
    # the comment holds a number: the case starts at contact_received (issue 12 #11)
    assert dict(case.params) == {"priority": "P1", "queue": "urgent", "route": "pku_sz",
                                 "status": "contact_received", "route_label": "北大深圳医院"}
    assert notify.params["group"] == "pku_sz"
    assert notify.params["text"] == "【P1】北大深圳医院 请处理：我在北大深圳医院，很急，电话138****0000（电话 138****0000）"
    assert notify.params["template"].startswith("【{priority}】")
    assert tag.params["tags"] == ["urgent", "p1"]
    assert d.tags == ("urgent", "p1")
    assert d.route == "pku_sz"
    assert d.matched_rules == ("urgent",)
    assert d.rules_version == rs.version
    assert "13800000000" not in repr(d)


def test_the_sender_fills_the_real_phone_from_the_same_template(history: FakeHistory) -> None:
    rs = build(URGENT)
    d = rs.evaluate(make_ctx("很急 13800000000", band="auto"), history)
    notify = d.actions[2]
    real = render_template(notify.params["template"], {**notify.params["variables"], "phone": "13800000000"})
    assert "（电话 13800000000）" in real


def test_route_falls_back_and_can_be_fixed(history: FakeHistory) -> None:
    rs = build(URGENT)
    assert rs.evaluate(make_ctx("在外地", band="auto"), history).route == "duty"
    assert rs.evaluate(make_ctx("粤海街道", band="auto"), history).route == "nanshan"
    assert rs.evaluate(make_ctx("北京大學深圳醫院", band="auto"), history).route == "pku_sz"
    assert rs.evaluate(make_ctx("在外地", band="auto", article_title="南山区核酸点"), history).route == "nanshan"
    fixed = build("""
        - name: r
          then:
            - open_case: {priority: P2, route: nanshan}
            - notify: {text: "看看 {route_label}"}
        """)
    d = fixed.evaluate(make_ctx("北大深圳医院"), history)
    assert d.route == "nanshan" and d.actions[1].params["group"] == "nanshan"
    assert d.actions[1].params["mention"] == []


def test_notify_a_named_group_with_mentions(history: FakeHistory) -> None:
    rs = build("""
        - name: r
          then:
            - notify: {group: duty, text: "有新留言"}
        """)
    n = rs.evaluate(make_ctx(), history).actions[0]
    assert n.params["group"] == "duty" and n.params["mention"] == ["@all"] and n.params["text"] == "有新留言"
    assert n.params["group_label"] == "值班组"


def test_attach_case_unfeature_and_the_cases_own_group(history: FakeHistory) -> None:
    rs = build("""
        - name: phone_followup
          when:
            has_open_case: true
            has_phone: true
          then:
            - attach_case: {status: contact_received}
            - unfeature
            - notify: {group: route, text: "工单 #{case_id} 留了电话 {phone}"}
        """)
    d = rs.evaluate(make_ctx("电话13800000000", open_case_id=42, open_case_route="pku_sz"), history)
    assert kinds(d) == ["attach_case", "unfeature", "notify"]
    assert dict(d.actions[0].params) == {"status": "contact_received", "case_id": 42}
    assert d.actions[2].params["group"] == "pku_sz"
    assert d.actions[2].params["text"] == "工单 #42 留了电话 138****0000"
    assert d.route == "pku_sz"
    # without the case's group, the place in the text decides
    d2 = rs.evaluate(make_ctx("南山区 13800000000", open_case_id=42), history)
    assert d2.actions[2].params["group"] == "nanshan"
    assert not rs.evaluate(make_ctx("电话13800000000"), history).actions  # no open case


def test_bare_attach_feature_and_stop(history: FakeHistory) -> None:
    rs = build("""
        - name: a
          when: {has_open_case: true}
          then: [attach_case, feature, stop]
        """)
    d = rs.evaluate(make_ctx(open_case_id=1), history)
    assert kinds(d) == ["attach_case", "feature"]
    assert d.actions[0].params["status"] == ""


# -- order, continue, stop ---------------------------------------------------------------------
ORDERED = """
- name: first
  when: {keywords: [核酸]}
  then: [{tag: first}]
- name: second
  when: {keywords: [结果]}
  then: [{tag: second}]
"""


def test_first_match_stops(history: FakeHistory) -> None:
    d = build(ORDERED).evaluate(make_ctx("核酸结果"), history)
    assert d.matched_rules == ("first",)
    assert [t.rule for t in d.trace] == ["first", "second"]
    assert d.trace[1].matched and not d.trace[1].reached  # shown, but never run


def test_a_non_matching_rule_lets_the_next_one_try(history: FakeHistory) -> None:
    d = build(ORDERED).evaluate(make_ctx("结果"), history)
    assert d.matched_rules == ("second",) and d.tags == ("second",)


def test_continue_runs_the_next_rules_too(history: FakeHistory) -> None:
    rs = build("""
        - name: first
          when: {keywords: [核酸]}
          continue: true
          then: [{tag: first}]
        - name: second
          when: {keywords: [结果]}
          then: [{tag: second}]
        - name: third
          then: [{tag: third}]
        """)
    d = rs.evaluate(make_ctx("核酸结果"), history)
    assert d.matched_rules == ("first", "second") and d.tags == ("first", "second")
    assert not d.trace[2].reached


def test_stop_ends_the_run_even_with_continue_elsewhere(history: FakeHistory) -> None:
    rs = build("""
        - name: ignore_thanks
          when: {keywords: [谢谢]}
          then: [stop]
        - name: everything
          then: [{tag: seen}]
        """)
    assert rs.evaluate(make_ctx("谢谢小编"), history).actions == ()
    assert rs.evaluate(make_ctx("谢谢小编"), history).matched_rules == ("ignore_thanks",)
    assert rs.evaluate(make_ctx("你好"), history).tags == ("seen",)


def test_disabled_rules_are_skipped(history: FakeHistory) -> None:
    rs = build("""
        - name: off
          enabled: false
          then: [{tag: off}]
        - name: on
          then: [{tag: on}]
        """)
    d = rs.evaluate(make_ctx(), history)
    assert d.matched_rules == ("on",) and [t.rule for t in d.trace] == ["on"]


# -- shadow mode -------------------------------------------------------------------------------
def test_shadow_rule_records_and_does_nothing(history: FakeHistory) -> None:
    rs = build("""
        - name: trial
          mode: shadow
          when: {band: auto}
          then:
            - reply: "试一下"
            - open_case: {priority: P1}
            - tag: trial
        - name: live
          when: {band: auto}
          then: [{tag: live}]
        """)
    d = rs.evaluate(make_ctx(band="auto"), history)
    assert d.matched_rules == ("live",) and d.tags == ("live",)
    assert kinds(d) == ["tag"]
    assert [a.kind for a in d.shadow_actions] == ["reply", "open_case", "tag"]
    assert d.trace[0].shadow and d.trace[0].matched
    assert d.route is None


def test_a_live_reply_then_a_shadow_reply_is_held_back(history: FakeHistory) -> None:
    rs = build("""
        - name: live
          continue: true
          then: [{reply: "一"}]
        - name: trial
          mode: shadow
          then: [{reply: "二"}]
        """)
    d = rs.evaluate(make_ctx(), history)
    assert kinds(d) == ["reply"] and d.shadow_actions == ()
    assert d.trace[1].suppressed == ("one_reply_per_comment",)


# -- guardrails --------------------------------------------------------------------------------
def test_replies_switched_off_keeps_case_and_notify(history: FakeHistory) -> None:
    rs = build(URGENT, "replies_enabled: false")
    d = rs.evaluate(make_ctx(band="auto"), history)
    assert kinds(d) == ["open_case", "notify", "tag"]
    assert d.trace[0].suppressed == ("replies_off",)


@pytest.mark.parametrize(("minutes_ago", "held"), [(1, True), (9.9, True), (10, False), (60, False)])
def test_per_writer_cooldown(history: FakeHistory, minutes_ago: float, held: bool) -> None:
    rs = build(URGENT, "reply_cooldown: 10m")
    ctx = make_ctx(band="auto", now=later(60), last_reply_at=later(60 - minutes_ago))
    d = rs.evaluate(ctx, history)
    assert ("reply" not in kinds(d)) is held
    assert ("cooldown" in d.trace[0].suppressed) is held
    assert "open_case" in kinds(d)


def test_per_article_rate_limit(history: FakeHistory) -> None:
    rs = build(URGENT, "article_rate_limit: {count: 3, per: 1h}")
    history.count = 2
    assert "reply" in kinds(rs.evaluate(make_ctx(band="auto"), history))
    account, msg, index, since = history.calls[-1]
    assert (account, msg, index, since) == ("gh_test", "2247487033_1", 0, WED_10 - timedelta(hours=1))
    history.count = 3
    d = rs.evaluate(make_ctx(band="auto"), history)
    assert "reply" not in kinds(d) and d.trace[0].suppressed == ("rate_limit",)
    assert kinds(d) == ["open_case", "notify", "tag"]


def test_rate_limit_when_the_store_cannot_answer(history: FakeHistory) -> None:
    rs = build(URGENT, "article_rate_limit: {count: 3, per: 1h}")
    history.fail = True
    d = rs.evaluate(make_ctx(band="auto"), history)
    assert "reply" not in kinds(d) and d.trace[0].suppressed == ("rate_limit_unknown",)


def test_quiet_hours_hold_back_only_replies_that_opt_out(history: FakeHistory) -> None:
    rs = build("""
        - name: faq
          continue: true
          then:
            - reply: {text: "答案", in_quiet_hours: false}
            - tag: faq
        """, 'quiet_hours: "23:00-07:00"')
    night = WED_10.replace(hour=3)
    d = rs.evaluate(make_ctx(now=night), history)
    assert kinds(d) == ["tag"] and d.trace[0].suppressed == ("quiet_hours",)
    assert kinds(rs.evaluate(make_ctx(now=WED_10), history)) == ["reply", "tag"]
    urgent = build(URGENT, 'quiet_hours: "23:00-07:00"')
    assert "reply" in kinds(urgent.evaluate(make_ctx(band="auto", now=night), history))


def test_global_no_replies_in_quiet_hours_with_a_per_reply_exception(history: FakeHistory) -> None:
    rs = build("""
        - name: urgent
          when: {band: auto}
          then: [{reply: {text: "电话发我", in_quiet_hours: true}}]
        - name: other
          then: [{reply: "你好"}]
        """, 'quiet_hours: "23:00-07:00"\nreplies_in_quiet_hours: false')
    night = WED_10.replace(hour=23, minute=30)
    assert kinds(rs.evaluate(make_ctx(band="auto", now=night), history)) == ["reply"]
    assert kinds(rs.evaluate(make_ctx(now=night), history)) == []


def test_one_public_reply_per_comment(history: FakeHistory) -> None:
    rs = build("""
        - name: a
          continue: true
          then: [{reply: "一"}]
        - name: b
          then: [{reply: "二"}, {tag: b}]
        """)
    d = rs.evaluate(make_ctx(), history)
    assert [a.params.get("text") for a in d.actions if a.kind == "reply"] == ["一"]
    assert d.trace[1].suppressed == ("one_reply_per_comment",) and d.tags == ("b",)


def test_replies_are_masked_and_never_too_long(history: FakeHistory) -> None:
    rs = build("""
        - name: r
          then: [{reply: "《{article_title}》已收到"}]
        """)
    d = rs.evaluate(make_ctx(article_title="请拨13800000000" + "长" * 100), history)
    text = d.actions[0].params["text"]
    assert "13800000000" not in text and "138****0000" in text
    assert len(text) <= 200


def test_evaluate_is_deterministic(history: FakeHistory) -> None:
    rs = build(URGENT)
    ctx = make_ctx("北大深圳医院 很急", band="auto")
    assert rs.evaluate(ctx, history) == rs.evaluate(ctx, history)


def test_evaluate_survives_odd_contexts(history: FakeHistory) -> None:
    rs = build(URGENT, "reply_cooldown: 10m")
    naive = WED_10.replace(tzinfo=None)
    d = rs.evaluate(make_ctx(band="auto", now=naive, last_reply_at=WED_10), history)
    assert "open_case" in kinds(d)
    broken = make_ctx(band="auto")
    object.__setattr__(broken, "text", None)
    object.__setattr__(broken, "writer", None)
    d = rs.evaluate(broken, history)  # never raises
    assert d.rules_version == rs.version
