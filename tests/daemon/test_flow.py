"""Poller → pipeline → sender → cases, with an in-memory platform and an injected clock."""

from __future__ import annotations

import pytest
from daemon_fakes import (
    FakeClock,
    FakeComment,
    FakeReply,
    FakeRules,
    PipelineWorld,
)

from bot.cases import CaseError
from bot.errors import TransientError
from bot.store import Store

PHONE = "13800000000"


class World(PipelineWorld):
    """The daemon's parts with :class:`FakeRules` (tests change ``world.rules``)."""


@pytest.fixture
def world(store: Store, clock: FakeClock) -> World:
    return World(store, clock)


def test_urgent_comment_gets_one_reply_a_case_and_a_notification(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "老婆要住院，核酸结果12小时没出，真的挺急")
    world.cycle()
    assert [r[3] for r in world.wechat.replies] == ["电话发我"]
    cases = world.book.list_cases()
    assert len(cases) == 1 and cases[0]["status"] == "awaiting_contact"
    assert cases[0]["priority"] == "P1" and cases[0]["route"] == "nanshan"
    assert cases[0]["first_reply_at"]
    assert any("新案件" in m for m in world.groups["nanshan"].messages)
    for _ in range(3):
        world.cycle()
    assert len(world.wechat.replies) == 1
    assert world.store.query("select count(*) as n from classifications")[0]["n"] == 1


@pytest.mark.parametrize("full_number", [False, True])
def test_follow_up_with_phone_moves_case_and_notifies_group_masked_with_a_link(
        world: World, full_number: bool) -> None:
    world.rules.full_number = full_number
    world.sender.case_url = lambda case_id: f"https://desk.example.org/case/{case_id}"
    world.wechat.add("100", 0, "o_a", "孕妇要住院，很急")
    world.cycle()
    world.wechat.add("100", 0, "o_a", "电话 一三八 零零零零 零零零零，谢谢")
    world.cycle()
    case = world.book.list_cases()[0]
    assert case["status"] == "contact_received"
    assert case["contact_phone"] == PHONE
    last = world.groups["nanshan"].messages[-1]
    assert f"https://desk.example.org/case/{case['id']}" in last
    if full_number:  # the rule opted in (and `rules check` warned)
        assert PHONE in last
    else:  # the group robot is a third party: masked number and the link by default
        assert "138****0000" in last and PHONE not in last
        assert all(PHONE not in m for m in world.groups["nanshan"].messages)
    # the number stays out of everything else
    events = world.book.events(case["id"])
    assert all(PHONE not in (e["note"] or "") for e in events)
    stored = world.store.query("select params from outbox")
    assert all(PHONE not in r["params"] for r in stored)
    assert len(world.wechat.replies) == 1  # the follow-up gets no public reply


def test_non_urgent_gets_nothing_and_review_gets_a_case_without_reply(world: World) -> None:
    world.wechat.add("100", 0, "o_b", "谢谢小编")
    world.wechat.add("100", 0, "o_c", "能帮忙问问透析的安排吗")
    world.cycle()
    assert world.wechat.replies == []
    cases = world.book.list_cases()
    assert [c["status"] for c in cases] == ["review"]


def test_a_comment_listed_twice_is_stored_and_processed_once(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.cycle()
    article = world.store.articles()[0]
    world.store.store_comments(article, [{"user_comment_id": 1, "openid": "o_a",
                                          "content": "很急", "create_time": 1641607200}],
                               new_cursor=1, next_poll_at=world.clock())
    world.cycle()
    assert world.store.query("select count(*) as n from comments")[0]["n"] == 1
    assert len(world.wechat.replies) == 1


def test_crash_after_reply_before_recording_does_not_reply_twice(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.poller.poll_due()
    world.pipeline.process_pending()
    row = world.store.due_outbox(world.clock())[0]
    assert row["kind"] == "reply"
    # simulate: marked inflight, reply posted, process killed before "sent" was written
    world.store.outbox_update(row["id"], status="inflight", attempts=1)
    world.wechat.reply_comment("100", 0, 1, "电话发我")
    world.sender.drain()
    assert len(world.wechat.replies) == 1
    sent = world.store.query("select status from outbox where id = ?", [row["id"]])[0]
    assert sent["status"] == "sent"


def test_already_replied_counts_as_sent(world: World) -> None:
    cid = world.wechat.add("100", 0, "o_a", "很急")
    world.wechat.comments[("100", 0)][0].reply = FakeReply("编辑手工回复")
    world.cycle()
    assert world.store.query("select status from outbox where kind='reply'")[0]["status"] == "sent"
    assert cid == 1 and world.wechat.replies == []


def test_transient_errors_back_off_and_retry(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.poller.poll_due()
    world.pipeline.process_pending()
    world.wechat.fail_next = [TransientError("system error", errcode=-1)]
    world.sender.drain()
    row = world.store.query("select * from outbox where kind='reply'")[0]
    assert row["status"] == "pending" and row["attempts"] == 1 and "TransientError" in row["last_error"]
    world.sender.drain()  # not due yet: backoff
    assert world.wechat.replies == []
    world.clock.advance(60)
    world.sender.drain()
    assert len(world.wechat.replies) == 1


def test_polling_errors_back_off_the_article(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.wechat.fail_next = [TransientError("busy", errcode=-1)]
    assert world.poller.poll_due() == 0
    assert world.poller.poll_due() == 0  # backing off
    world.clock.advance(10)
    assert world.poller.poll_due() == 1


def test_global_reply_switch_holds_replies(world: World) -> None:
    world.rules.replies_enabled = False
    world.wechat.add("100", 0, "o_a", "很急")
    world.cycle()
    assert world.wechat.replies == []
    assert len(world.book.list_cases()) == 1


def test_deadline_breach_is_recorded_and_notified_once(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.cycle()
    world.clock.advance(3 * 3600)
    first = world.book.check_deadlines(world.clock())
    again = world.book.check_deadlines(world.clock())
    assert ("contact" in {name for _, name in first}) and again == []
    world.sender.drain()
    assert sum("超时" in m for m in world.groups["duty"].messages) == len(first)
    assert world.book.list_cases(late=True)


def test_no_response_closes_the_case(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.cycle()
    world.clock.advance(49 * 3600)
    world.book.check_deadlines(world.clock())
    assert world.book.list_cases()[0]["status"] == "closed_no_response"


def test_editor_lifecycle_and_forbidden_transitions(world: World) -> None:
    world.wechat.add("100", 0, "o_a", "很急")
    world.cycle()
    cid = world.book.list_cases()[0]["id"]
    world.book.note(cid, f"打过电话 {PHONE}", actor="小王")
    world.book.assign(cid, "小李", actor="小王")
    world.book.set_status(cid, "contact_received", actor="小王")
    world.book.hand_off(cid, "duty", actor="小王")
    world.book.set_status(cid, "resolved", actor="小李", outcome="已入院")
    with pytest.raises(CaseError, match="不能改为"):
        world.book.set_status(cid, "handed_off", actor="小李", group="duty")
    with pytest.raises(CaseError, match="不存在"):
        world.book.note(999, "x", actor="a")
    events = world.book.events(cid)
    assert [e["kind"] for e in events][:3] == ["opened", "reply", "notify"] or events
    assert all(PHONE not in (e["note"] or "") for e in events)
    assert {e["actor"] for e in events} >= {"bot", "小王", "小李"}


def test_store_reopens_and_migrations_are_idempotent(db_target: str, clock: FakeClock) -> None:
    s1 = Store(db_target, clock=clock)
    s1.watch_article("main", "1", 0)
    s1.close()
    s2 = Store(db_target, clock=clock)
    assert len(s2.articles()) == 1
    applied = s2.query("select name from schema_migrations")
    names = [r["name"] for r in applied]
    assert {"m001_initial", "m002_users", "m003_full_scans", "m004_hot_path_indexes",
            "m005_account_pauses", "m006_case_events_by_comment", "m007_sessions_roles_throttle",
            "m008_analysts_loop", "m009_case_reason", "m011_private_messages"} <= set(names)
    assert len(names) == len(set(names))


def test_a_comment_that_cannot_be_processed_goes_to_an_editor(world: World) -> None:
    class Exploding(FakeRules):
        def evaluate(self, ctx, history):  # type: ignore[no-untyped-def]
            if "炸" in ctx.text:
                raise RuntimeError("boom")
            return super().evaluate(ctx, history)

    world.rules = Exploding()
    world.wechat.add("100", 0, "o_x", "炸了")
    world.wechat.add("100", 0, "o_y", "很急")
    world.cycle()
    states = {r["content"]: r["state"] for r in world.store.query("select content, state from comments")}
    assert states == {"炸了": "error", "很急": "processed"}
    cases = {c["content"]: c for c in world.book.list_cases()}
    assert cases["炸了"]["status"] == "review"
    assert len(world.wechat.replies) == 1


def test_polls_read_one_page_back_and_rescan_the_whole_list_every_30_minutes(world: World) -> None:
    for i in range(120):
        world.wechat.add("100", 0, f"o_{i}", f"第{i}条")
    world.poller.poll_due()  # first poll reads everything: 3 pages
    assert world.store.query("select count(*) as n from comments")[0]["n"] == 120
    world.clock.advance(11)
    calls = world.wechat.list_calls
    world.poller.poll_due()  # later polls re-read one page before the cursor
    assert world.wechat.list_calls - calls == 2  # the overlap page and the (empty) next one
    # a comment shows up early in the list (the platform's order is not documented)
    world.wechat.comments[("100", 0)].insert(0, FakeComment(999, "o_late", 1641607200, "插队的留言"))
    world.clock.advance(11)
    world.poller.poll_due()
    assert world.store.comment("main:100:0:999") is None
    world.clock.advance(31 * 60)
    world.poller.poll_due()
    assert world.store.comment("main:100:0:999") is not None


def test_first_urgent_comment_with_a_number_is_told_it_was_received(world: World) -> None:
    """Issue 12 #11: with the shipped rules.yaml, no "电话发我" to someone who left a number."""
    from pathlib import Path

    from bot.rules import load_rules

    shipped = load_rules(Path(__file__).resolve().parents[2] / "rules.yaml")
    world.rules = shipped  # type: ignore[assignment]
    world.sender.replies_enabled = lambda: True
    world.wechat.add("100", 0, "o_a", f"我妈突发胸痛很急，电话 {PHONE}，求救")
    world.wechat.add("100", 0, "o_b", "孩子高烧抽搐，很急，医院不收")
    world.cycle()
    replies = {r[2]: r[3] for r in world.wechat.replies}
    assert sorted(replies.values()) == ["已收到您留的电话，我们会尽快联系您。", "电话发我"]
    by_writer = {c["openid"]: c for c in world.book.list_cases()}
    with_number, without = by_writer["o_a"], by_writer["o_b"]
    assert with_number["status"] == "contact_received" and with_number["contact_at"]
    assert with_number["contact_phone"] == PHONE
    assert without["status"] == "awaiting_contact" and not without["contact_at"]
    # the group is told a number was given (masked: the full one is on the case page only),
    # not "waiting for a number"
    sent = " ".join(world.groups["duty"].messages)
    assert "138****0000" in sent and PHONE not in sent and "（尚未留电话）" in sent


def test_the_deadline_check_reads_open_cases_in_pages_and_misses_none(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: open cases are read a page at a time; every one is still checked once."""
    import bot.cases

    monkeypatch.setattr(bot.cases, "CASE_PAGE", 2)
    for i in range(5):
        world.wechat.add("100", 0, f"o_{i}", "很急")
    world.cycle()
    assert len(world.book.list_cases()) == 5
    world.clock.advance(3 * 3600)
    first = world.book.check_deadlines(world.clock())
    assert sorted({case for case, name in first if name == "contact"}) == sorted(
        c["id"] for c in world.book.list_cases())
    assert world.book.check_deadlines(world.clock()) == []
    world.clock.advance(49 * 3600)
    world.book.check_deadlines(world.clock())
    assert {c["status"] for c in world.book.list_cases()} == {"closed_no_response"}
