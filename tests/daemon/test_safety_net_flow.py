"""The safety net end to end: shipped rules.yaml → pipeline → store → sender → `cases show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from daemon_fakes import FakeClock, PipelineWorld

from bot.cli import main
from bot.rules import load_rules
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules.yaml")
REASON = "安全网：产妇 + 入院 + 等着"


class NetWorld(PipelineWorld):
    """The daemon's parts with the shipped rules and a classifier that rates everything 'below'."""

    def __init__(self, store: Store, clock: FakeClock) -> None:
        super().__init__(store, clock, rules=RULES, title="核酸检测结果查询")


@pytest.fixture
def net(store: Store, clock: FakeClock) -> NetWorld:
    return NetWorld(store, clock)


def test_a_below_comment_naming_a_person_at_risk_and_blocked_care_opens_a_review_case(net: NetWorld) -> None:
    # The classifier rates both 'below'; the FAQ rule fits both. Only the first names a person at risk.
    net.wechat.add("100", 0, "o_mum", "产妇等着入院，核酸结果什么时候出？")
    net.wechat.add("100", 0, "o_plain", "核酸结果什么时候出？")
    net.cycle()

    # The plain question gets the plain answer; the person at risk gets no public answer at all.
    assert len(net.wechat.replies) == 1 and "24 小时" in net.wechat.replies[0][3]
    mum = net.store.query("select id from comments where openid = 'o_mum'")[0]["id"]
    assert net.store.query("select count(*) as n from outbox where comment_id = ? and kind = 'reply'",
                           [mum])[0]["n"] == 0

    cases = net.book.list_cases()
    assert len(cases) == 1
    case = cases[0]
    assert case["comment_id"] == mum and case["status"] == "review" and case["priority"] == "P2"
    assert case["reason"] == REASON
    opened = net.book.events(case["id"])[0]
    assert opened["kind"] == "opened" and opened["note"].startswith(REASON)

    # The classification trace says so too: the FAQ reply held back, the safety net matched.
    cls = net.store.query("select * from classifications where comment_id = ?", [mum])[0]
    assert json.loads(cls["matched_rules"]) == ["faq_test_result_time", "safety_net"]
    traces = {t["rule"]: t for t in net.store.query("select * from traces where comment_id = ?", [mum])}
    assert json.loads(traces["faq_test_result_time"]["suppressed"]) == ["safety_net"]
    net_trace = traces["safety_net"]
    assert net_trace["matched"] == 1
    assert ["person at risk: 产妇", True] in json.loads(net_trace["conditions"])


def test_a_writer_with_an_open_case_is_attached_not_caught_twice(net: NetWorld) -> None:
    net.wechat.add("100", 0, "o_a", "我爸透析停了，出不去")
    net.cycle()
    net.wechat.add("100", 0, "o_a", "还在等着，透析停了三天了")
    net.cycle()
    cases = net.book.list_cases()
    assert len(cases) == 1 and cases[0]["reason"] == "安全网：透析 + 停了 + 出不去"
    kinds = [e["kind"] for e in net.book.events(cases[0]["id"])]
    assert kinds.count("opened") == 1 and "attach" in kinds
    assert net.wechat.replies == []


def test_cases_show_and_list_print_the_reason(net: NetWorld) -> None:
    net.wechat.add("100", 0, "o_mum", "产妇等着入院，核酸结果什么时候出？电话13800000000")
    net.cycle()
    db = net.store.path
    runner = CliRunner()
    show = runner.invoke(main, ["cases", "show", "1", "--db", db], catch_exceptions=False)
    assert show.exit_code == 0, show.output
    assert f"reason: {REASON}" in show.output
    assert "13800000000" not in show.output
    listed = runner.invoke(main, ["cases", "list", "--json", "--db", db], catch_exceptions=False)
    assert json.loads(listed.output.splitlines()[0])["reason"] == REASON


def test_the_safety_net_catches_a_private_message_and_holds_back_its_private_answer(
        net: NetWorld) -> None:
    """Issues 10 + 13: a reader's private message is checked by the net like a comment; the FAQ
    answer (a customer-service message there) is held back and an editor gets a review case."""
    from bot.clock import iso
    from bot.inbox import record_message
    from connectors.wechat.push import PushMessage

    def push(msg_id: int, openid: str, text: str) -> None:
        record_message(net.store, "main", PushMessage(
            to_user="gh_x", from_user=openid, create_time=int(net.clock().timestamp()),
            msg_type="text", msg_id=msg_id, content=text), iso(net.clock()))

    sent: list[tuple[str, str]] = []
    net.wechat.send_custom_text = lambda openid, text: sent.append((openid, text))  # type: ignore[attr-defined]
    push(1, "o_mum", "产妇等着入院，核酸结果什么时候出？")
    push(2, "o_plain", "核酸结果什么时候出？")
    net.cycle()

    [case] = net.book.list_cases()
    assert case["openid"] == "o_mum" and case["status"] == "review" and case["reason"] == REASON
    assert case["article_id"] == "main:message:0"
    answers = net.store.query("select c.openid, o.kind from outbox o join comments c on "
                              "c.id = o.comment_id where o.kind in ('reply', 'message')")
    assert answers == [{"openid": "o_plain", "kind": "message"}]  # the plain question only
    assert net.wechat.replies == []  # nothing public for a private message
    assert [openid for openid, _ in sent] == ["o_plain"]
