"""Private messages end to end, in process: push endpoint → inbox → pipeline → cases → sender.

The platform's side is built with connectors/wechat/push.encode_push (checked against wechatpy
in tests/connectors/test_wechatpy_conformance.py); the clock is injected; nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from daemon_fakes import (
    FakeClock,
    FakeWeChat,
    PipelineWorld,
)
from loguru import logger

from bot.cases import CaseError, enqueue
from bot.errors import BadRequest, StoreError, TransientError
from bot.inbox import Inbox, record_message
from bot.private import queue_answer
from bot.push import PushEndpoint
from bot.store import Store
from connectors.wechat.push import PushSettings, build_xml, encode_push, sign

PHONE = "13800000000"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx0000000000000000"
SAFE = PushSettings("tok123", APPID, "safe", KEY)


class CustomServiceWeChat(FakeWeChat):
    """The fake platform, plus message/custom/send."""

    def __init__(self) -> None:
        super().__init__()
        self.custom: list[tuple[str, str]] = []
        self.custom_faults: list[Exception] = []

    def send_custom_text(self, openid: str, content: str) -> None:
        if self.custom_faults:
            raise self.custom_faults.pop(0)
        self.custom.append((openid, content))


class World(PipelineWorld):
    def __init__(self, store: Store, clock: FakeClock, inbox: Inbox | None = None) -> None:
        super().__init__(store, clock, wechat=CustomServiceWeChat())
        self.inbox = inbox or Inbox(store, clock=clock)
        self.results: list[str] = []
        self.endpoint = PushEndpoint({"main": SAFE}, self.inbox, clock=clock,
                                     on_result=lambda a, r: self.results.append(r))
        self.next_id = 23474120000000001

    def request(self, openid: str, content: str, *, msg_id: int | None = None,
                nonce: str = "4242", settings: PushSettings = SAFE) -> tuple[dict[str, str], bytes]:
        if msg_id is None:
            msg_id, self.next_id = self.next_id, self.next_id + 1
        ts = int(self.clock().timestamp())
        xml = build_xml({"ToUserName": "gh_0000000000mk", "FromUserName": openid,
                         "CreateTime": ts, "MsgType": "text", "Content": content,
                         "MsgId": msg_id})
        return encode_push(settings, xml, timestamp=ts, nonce=nonce, openid=openid,
                           to_user="gh_0000000000mk")

    def post(self, query: dict[str, str], body: bytes) -> tuple[int, str]:
        return self.endpoint.handle("POST", "main", query, body)

    def push(self, openid: str, content: str, **kw: Any) -> tuple[int, str]:
        return self.post(*self.request(openid, content, **kw))

    def count(self, table: str) -> int:
        return int(self.store.query(f"select count(*) as n from {table}")[0]["n"])

    def case(self, openid: str) -> dict[str, Any]:
        [case] = self.store.query("select * from cases where openid = ?", [openid])
        return case


@pytest.fixture
def world(store: Store, clock: FakeClock) -> Iterator[World]:
    w = World(store, clock)
    yield w
    w.inbox.close()


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    yield lines
    logger.remove(sink)


def commented_and_answered(world: World, openid: str = "o_a") -> int:
    """A reader comments urgently and gets the public '电话发我'."""
    world.wechat.add("100", 0, openid, "老婆要住院，核酸结果12小时没出，真的挺急")
    world.cycle()
    assert [r[3] for r in world.wechat.replies] == ["电话发我"]
    case = world.case(openid)
    assert case["status"] == "awaiting_contact"
    return int(case["id"])


# ------------------------------------------------------------------ messages join cases
def test_phone_sent_privately_joins_the_case(world: World, logs: list[str]) -> None:
    case_id = commented_and_answered(world)
    assert world.push("o_a", f"我的电话是{PHONE}，麻烦了") == (200, "success")
    world.cycle()
    case = world.case("o_a")
    assert case["id"] == case_id and case["status"] == "contact_received"
    assert case["contact_phone"] == PHONE
    assert world.count("cases") == 1
    [msg] = world.store.query("select * from comments where channel = 'message'")
    assert msg["state"] == "processed" and msg["openid"] == "o_a"
    kinds = [e["kind"] for e in world.book.events(case_id)]
    assert kinds.count("attach") == 1 and "status" in kinds
    # the route's group is told; nothing is featured or unfeatured for a private message
    assert any(f"#{case_id}" in m for m in world.groups["nanshan"].messages[1:])
    assert not world.store.query("select 1 from outbox where kind in ('feature','unfeature')")
    # masked everywhere but the case itself
    notes = " ".join(e["note"] for e in world.book.events(case_id))
    assert PHONE not in notes and "138****0000" in notes
    assert PHONE not in " ".join(r["params"] for r in world.store.query("select params from outbox"))
    assert PHONE not in "".join(logs)


def test_a_number_sent_privately_after_the_hand_off_keeps_the_case_handed_off(
        world: World) -> None:
    """A follow-up with a number moves a case forward (awaiting_contact → contact_received),
    never back: a case already with a department stays handed off, the number joins it and the
    department's group hears of it (masked)."""
    case_id = commented_and_answered(world)
    world.push("o_a", "谢谢，我们在等")
    world.cycle()
    assert world.book.set_status(case_id, "contact_received", actor="小王")
    assert world.book.hand_off(case_id, "nanshan", actor="小王")
    world.cycle()
    told = len(world.groups["nanshan"].messages)
    assert world.push("o_a", f"我的电话是{PHONE}，麻烦了") == (200, "success")
    world.cycle()
    case = world.case("o_a")
    assert case["status"] == "handed_off" and case["contact_phone"] == PHONE
    events = world.book.events(case_id)
    assert [e["kind"] for e in events].count("attach") == 2
    assert not [e for e in events if e["kind"] == "status" and e["from_status"] == "handed_off"]
    new = world.groups["nanshan"].messages[told:]
    assert any(f"#{case_id}" in m for m in new) and PHONE not in " ".join(new)


def test_any_private_message_from_a_reader_with_a_case_is_attached(world: World) -> None:
    case_id = commented_and_answered(world)
    world.push("o_a", "谢谢，我们在等")
    world.cycle()
    assert world.case("o_a")["status"] == "awaiting_contact"  # no number: same status
    assert [e["kind"] for e in world.book.events(case_id)].count("attach") == 1


def test_the_platforms_three_retries_give_one_case_and_one_attachment(world: World) -> None:
    case_id = commented_and_answered(world)
    query, body = world.request("o_a", f"电话{PHONE}", msg_id=777)
    assert [world.post(query, body) for _ in range(3)] == [(200, "success")] * 3
    # a retry signed afresh (new nonce) but with the same MsgId is the same message
    assert world.push("o_a", f"电话{PHONE}", msg_id=777, nonce="999") == (200, "success")
    assert world.results[-4:] == ["stored", "replay", "replay", "duplicate"]
    for _ in range(3):
        world.cycle()
    assert world.count("messages") == 1
    assert world.store.query("select count(*) as n from comments where channel='message'")[0]["n"] == 1
    assert [e["kind"] for e in world.book.events(case_id)].count("attach") == 1
    assert world.count("cases") == 1


def test_a_reader_without_a_case_is_classified_and_answered_privately(world: World) -> None:
    assert world.push("o_new", "孩子高烧不退，真的很急") == (200, "success")
    world.cycle()
    case = world.case("o_new")
    assert case["status"] == "awaiting_contact" and case["article_id"] == "main:message:0"
    assert world.wechat.custom == [("o_new", "电话发我")]
    assert world.wechat.replies == []  # no public reply: there is no comment to reply to
    assert case["first_reply_at"]
    for _ in range(3):
        world.cycle()
    assert len(world.wechat.custom) == 1  # exactly once


# ------------------------------------------------------------------ refusals and replays
def test_bad_signature_wrong_key_and_unknown_account_store_nothing(world: World) -> None:
    query, body = world.request("o_a", "hi")
    bad = {**query, "msg_signature": "0" * 40}
    assert world.post(bad, body)[0] == 403
    bad = {**query, "signature": sign("wrong-token", query["timestamp"], query["nonce"])}
    assert world.post(bad, body)[0] == 403
    wrong_key = PushSettings("tok123", APPID, "safe", OTHER_KEY)
    assert world.post(*world.request("o_a", "hi", settings=wrong_key))[0] == 400
    assert world.endpoint.handle("POST", "nobody", query, body)[0] == 404
    assert world.post(query, b"<xml><Encrypt>")[0] in (400, 403)
    assert world.count("messages") == 0
    assert world.results[:4] == ["signature", "signature", "decrypt", "unknown_account"]


def test_replays_are_answered_but_not_stored_and_old_ones_refused(world: World) -> None:
    query, body = world.request("o_a", "你好")
    assert world.post(query, body) == (200, "success")
    world.clock.advance(60)
    assert world.post(query, body) == (200, "success")  # within 5 minutes: a harmless repeat
    world.clock.advance(600)
    assert world.post(query, body)[0] == 403  # ten minutes later: refused
    assert world.results == ["stored", "replay", "timestamp"]
    assert world.count("messages") == 1


def test_handshake(world: World) -> None:
    ts = str(int(world.clock().timestamp()))
    q = {"timestamp": ts, "nonce": "7", "echostr": "abc123", "signature": sign("tok123", ts, "7")}
    assert world.endpoint.handle("GET", "main", q, b"") == (200, "abc123")
    assert world.endpoint.handle("GET", "main", {**q, "signature": "x"}, b"")[0] == 403


# ------------------------------------------------------------------ the 5-second answer
def test_success_within_the_platforms_5_seconds_under_a_slow_database(
        store: Store, clock: FakeClock) -> None:
    gate = threading.Event()
    budgets: list[float] = []

    def slow_write(account: str, msg: Any, at: str) -> bool:
        gate.wait()  # the database hangs until the test lets it go
        return record_message(store, account, msg, at)

    def budget_passes(future: Future[bool], timeout: float) -> bool:
        budgets.append(timeout)
        clock.advance(timeout)  # the injected clock runs out the budget; nobody sleeps
        return future.done()

    world = World(store, clock, Inbox(store, clock=clock, write=slow_write, wait=budget_passes))
    query, body = world.request("o_a", f"电话{PHONE}", msg_id=555)
    assert world.post(query, body) == (200, "success")
    assert budgets == [4.0] and budgets[0] < 5  # answered before the platform gives up
    assert world.results == ["queued"]
    # the platform's retry while the write is still hanging is not queued twice
    assert world.push("o_a", f"电话{PHONE}", msg_id=555, nonce="2") == (200, "success")
    assert world.results[-1] == "duplicate" and world.inbox.pending == 1
    gate.set()
    world.inbox.close(wait=True)
    assert world.count("messages") == 1 and world.count("comments") == 1


def test_the_budget_counts_from_the_requests_arrival(store: Store, clock: FakeClock) -> None:
    budgets: list[float] = []
    inbox = Inbox(store, clock=clock, wait=lambda f, t: budgets.append(t) or f.result() or True)
    world = World(store, clock, inbox)
    from connectors.wechat.push import decode_push

    msg = decode_push(SAFE, *world.request("o_a", "hi"), now=clock().timestamp())
    started = clock()
    clock.advance(1.5)  # time already spent reading and decrypting the request
    assert inbox.accept("main", msg, started=started) == "stored"
    assert budgets == [2.5]
    inbox.close()


def test_a_failed_store_answers_503_so_the_platform_retries(store: Store, clock: FakeClock) -> None:
    failures = [StoreError("database is locked")]

    def flaky(account: str, msg: Any, at: str) -> bool:
        if failures:
            raise failures.pop()
        return record_message(store, account, msg, at)

    world = World(store, clock, Inbox(store, clock=clock, write=flaky))
    query, body = world.request("o_a", "你好")
    assert world.post(query, body)[0] == 503
    assert world.post(query, body) == (200, "success")  # the retry is not taken for a replay
    world.inbox.close()
    assert world.count("messages") == 1


# ------------------------------------------------------------------ answers within the window
def test_editor_answers_privately_only_inside_the_window(world: World) -> None:
    case_id = commented_and_answered(world)
    with pytest.raises(CaseError, match="还没有给公众号发过私信"):
        queue_answer(world.store, case_id, "您好", editor="小王", now=world.clock())
    world.push("o_a", "你好，我在")
    world.cycle()
    queue_answer(world.store, case_id, f"您好，请打{PHONE}以外的号码也行", editor="小王",
                 now=world.clock())
    world.cycle()
    [(openid, text)] = world.wechat.custom
    assert openid == "o_a" and PHONE not in text
    events = world.book.events(case_id)
    assert any(e["kind"] == "reply" and e["actor"] == "小王" for e in events)
    world.clock.advance(48 * 3600 + 60)
    with pytest.raises(CaseError, match="私信窗口已关闭"):
        queue_answer(world.store, case_id, "您好", editor="小王", now=world.clock())


def _queued(world: World, case_id: int, key: str) -> None:
    with world.store.transaction() as db:
        enqueue(db, key=key, comment_id=world.case("o_a")["comment_id"], case_id=case_id,
                account="main", kind="message", rule="editor:小王",
                params={"text": "您好", "openid": "o_a"}, at=world.store.now())


def test_window_closed_before_sending_tells_the_editor_and_calls_nobody(world: World) -> None:
    case_id = commented_and_answered(world)
    world.push("o_a", "在吗")
    world.cycle()
    _queued(world, case_id, "k1")
    world.clock.advance(49 * 3600)
    world.sender.drain()
    assert world.wechat.custom == []
    [row] = world.store.query("select * from outbox where key = 'k1'")
    assert row["status"] == "failed"
    assert any("私信窗口已关闭" in e["note"] for e in world.book.events(case_id))


@pytest.mark.parametrize(("errcode", "says"), [(45015, "45015"), (45047, "45047")])
def test_platform_window_errors_are_final_and_told(world: World, errcode: int, says: str) -> None:
    case_id = commented_and_answered(world)
    world.push("o_a", "在吗")
    world.cycle()
    world.wechat.custom_faults = [BadRequest("window", errcode=errcode)]
    _queued(world, case_id, "k2")
    for _ in range(3):
        world.cycle()
    [row] = world.store.query("select * from outbox where key = 'k2'")
    assert row["status"] == "failed" and row["attempts"] == 1
    assert world.wechat.custom == []
    assert any(says in e["note"] for e in world.book.events(case_id))


def test_transient_errors_retry_and_send_once(world: World) -> None:
    case_id = commented_and_answered(world)
    world.push("o_a", "在吗")
    world.cycle()
    world.wechat.custom_faults = [TransientError("busy", errcode=-1)]
    _queued(world, case_id, "k3")
    for _ in range(60):
        world.cycle()
    assert world.wechat.custom == [("o_a", "您好")]


def test_a_timeout_after_sending_is_not_resent_and_told(world: World) -> None:
    import httpx

    case_id = commented_and_answered(world)
    world.push("o_a", "在吗")
    world.cycle()
    try:
        raise httpx.ReadTimeout("no answer")
    except httpx.ReadTimeout as cause:
        timeout = TransientError("custom/send: ReadTimeout", endpoint="message/custom/send")
        timeout.__cause__ = cause
    world.wechat.custom_faults = [timeout]
    _queued(world, case_id, "k5")
    for _ in range(5):
        world.cycle()
    assert world.wechat.custom == []  # maybe delivered: never a second copy
    assert world.store.query("select status from outbox where key='k5'")[0]["status"] == "failed"
    assert any("网络中断" in e["note"] for e in world.book.events(case_id))


def test_inflight_after_a_restart_is_not_sent_twice(world: World) -> None:
    case_id = commented_and_answered(world)
    world.push("o_a", "在吗")
    world.cycle()
    _queued(world, case_id, "k4")
    with world.store.transaction() as db:
        db.execute("update outbox set status = 'inflight' where key = 'k4'")
    world.sender.drain()
    assert world.wechat.custom == []
    assert world.store.query("select status from outbox where key='k4'")[0]["status"] == "failed"
    assert any("没有重发" in e["note"] for e in world.book.events(case_id))


def test_the_http_route_refuses_huge_bodies_before_reading_them(world: World) -> None:
    import warnings

    from starlette.applications import Starlette

    from bot.push import push_routes
    from connectors.wechat.push import MAX_BODY

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    query, body = world.request("o_a", "你好")
    with TestClient(Starlette(routes=push_routes(world.endpoint))) as http:
        r = http.post("/wechat/main", params=query, content=b"<xml>" + b"a" * MAX_BODY)
        assert r.status_code == 413
        r = http.post("/wechat/main", params=query, content=body)
        assert (r.status_code, r.text) == (200, "success")
        assert http.get("/wechat/main", params=query).status_code == 400  # no echostr
    assert world.count("messages") == 1
