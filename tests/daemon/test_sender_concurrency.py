"""Several outbox rows in flight at once (``[sender] concurrency``), each performed once.

The platform calls here meet at a barrier: they can only all return when they are in flight
together, so a sender that performed them one at a time would break the barrier (and the test)
instead of passing slowly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from daemon_fakes import FakeClock, FakeWeChat, PipelineWorld

from bot.sender import GROUP_LANE, PUBLIC_LANE, Sender
from bot.store import Store

BARRIER_SECONDS = 20.0  # only reached when the calls are not concurrent: the test fails then


class MeetingWeChat(FakeWeChat):
    """Replies wait until ``parties`` of them are in flight; every call is recorded."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=BARRIER_SECONDS)
        self.threads: set[str] = set()
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def reply_comment(self, msg_data_id: Any, index: int, user_comment_id: int,
                      content: str) -> None:
        self.barrier.wait()
        with self._lock:
            self.threads.add(threading.current_thread().name)
            self.calls.append(("reply", user_comment_id))
            super().reply_comment(msg_data_id, index, user_comment_id, content)

    def markelect(self, msg_data_id: Any, index: int, user_comment_id: int) -> None:
        with self._lock:
            self.calls.append(("feature", user_comment_id))
        super().markelect(msg_data_id, index, user_comment_id)


@pytest.fixture
def world(tmp_path: Any) -> Iterator[PipelineWorld]:
    clock = FakeClock()
    store = Store(tmp_path / "s.db", clock=clock)
    w = PipelineWorld(store, clock)
    yield w
    store.close()


def _urgent_comments(world: PipelineWorld, n: int) -> None:
    for i in range(n):
        world.wechat.add("100", 0, f"o_{i}", f"产妇等着住院，急 {i}")
    world.poller.poll_due()
    while world.pipeline.process_pending():
        pass


def _sender(world: PipelineWorld, wechat: FakeWeChat, concurrency: int) -> Sender:
    return Sender(world.store, wechat=lambda _a: wechat, groups=world.groups.get,
                  clock=world.clock, concurrency=concurrency)


def test_four_replies_are_in_flight_at_once_and_each_is_posted_once(
        world: PipelineWorld) -> None:
    meeting = MeetingWeChat(parties=4)
    meeting.comments = world.wechat.comments  # the same comments the poller read
    _urgent_comments(world, 8)
    sender = _sender(world, meeting, concurrency=4)
    try:
        assert sender.drain(kinds=PUBLIC_LANE) == 8
    finally:
        sender.close()
    assert len(meeting.threads) == 4
    assert sorted(cid for _kind, cid in meeting.calls) == sorted(set(
        cid for _kind, cid in meeting.calls))  # no comment answered twice
    assert len(meeting.replies) == 8
    rows = world.store.query("select status from outbox where kind = 'reply'")
    assert [r["status"] for r in rows] == ["sent"] * 8
    # a second drain finds nothing left to do
    assert _sender(world, meeting, concurrency=4).drain(kinds=PUBLIC_LANE) == 0


def test_rows_of_one_comment_stay_in_order_in_one_thread(world: PipelineWorld) -> None:
    recorder = MeetingWeChat(parties=1)
    recorder.comments = world.wechat.comments
    _urgent_comments(world, 3)
    comment = world.store.query("select comment_id from outbox where kind = 'reply' "
                                "order by id limit 1")[0]["comment_id"]
    with world.store.transaction() as db:  # a feature queued after the reply, same comment
        from bot.cases import enqueue

        enqueue(db, key=f"{comment}:feature", comment_id=comment, case_id=None, account="main",
                kind="feature", rule="test", params={}, at=world.store.now())
    sender = _sender(world, recorder, concurrency=4)
    try:
        sender.drain(kinds=PUBLIC_LANE)
    finally:
        sender.close()
    cid = int(world.store.comment(comment)["user_comment_id"])  # type: ignore[index]
    own = [kind for kind, c in recorder.calls if c == cid]
    assert own == ["reply", "feature"]


def test_a_failing_row_does_not_stop_the_others_and_is_reported(world: PipelineWorld) -> None:
    class Broken(FakeWeChat):
        def reply_comment(self, msg_data_id: Any, index: int, user_comment_id: int,
                          content: str) -> None:
            if user_comment_id == 1:
                raise RuntimeError("a bug in a client")
            super().reply_comment(msg_data_id, index, user_comment_id, content)

    broken = Broken()
    broken.comments = world.wechat.comments
    _urgent_comments(world, 4)
    sender = _sender(world, broken, concurrency=4)
    try:
        with pytest.raises(RuntimeError, match="a bug in a client"):
            sender.drain(kinds=PUBLIC_LANE)
    finally:
        sender.close()
    assert len(broken.replies) == 3  # the other three were performed before the error came up


def test_drain_all_takes_a_burst_in_one_turn_and_stops_on_rows_left_due(
        world: PipelineWorld) -> None:
    _urgent_comments(world, 7)
    sender = _sender(world, world.wechat, concurrency=2)
    try:
        assert sender.drain_all(PUBLIC_LANE, limit=3) == 7  # three batches in one job turn
        assert sender.drain_all(GROUP_LANE, limit=3) == 7
    finally:
        sender.close()

    class Stuck(Sender):  # performs nothing: its rows stay due
        def _send_one(self, row: dict[str, Any], *, marked: bool = False) -> bool:
            return False

    _urgent_comments_more = 5
    for i in range(_urgent_comments_more):
        world.wechat.add("100", 0, f"p_{i}", f"孕妇高烧，急 {i}")
    world.poller.poll_due()
    while world.pipeline.process_pending():
        pass
    stuck = Stuck(world.store, wechat=lambda _a: world.wechat, groups=world.groups.get,
                  clock=world.clock)
    assert stuck.drain_all(PUBLIC_LANE, limit=2, max_batches=1000) == 0  # returns, no spin


def test_the_setting_is_read_and_checked(tmp_path: Any) -> None:
    from bot.config import load_config
    from bot.errors import ConfigError

    path = tmp_path / "d.toml"
    path.write_text("[sender]\nconcurrency = 8\n", encoding="utf-8")
    assert load_config(path, env={}).sender_concurrency == 8
    assert load_config(None, env={}).sender_concurrency == 4
    path.write_text("[sender]\nconcurrency = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sender\.concurrency.*from 1"):
        load_config(path, env={})


def test_when_the_outcomes_cannot_be_written_the_batch_stays_inflight_and_nothing_repeats(
        world: PipelineWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The calls went out, the database refused the batch's outcomes: every row is left
    ``inflight``; the next drain finds the replies on the platform instead of posting again."""
    from bot.errors import StoreError

    _urgent_comments(world, 5)
    sender = _sender(world, world.wechat, concurrency=3)
    real = world.store.savepoint

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise StoreError("disk I/O error")

    monkeypatch.setattr(world.store, "savepoint", refuse)
    try:
        with pytest.raises(StoreError):
            sender.drain(kinds=PUBLIC_LANE)
        assert len(world.wechat.replies) == 5
        rows = world.store.query("select status from outbox where kind = 'reply'")
        assert {r["status"] for r in rows} == {"inflight"}
        monkeypatch.setattr(world.store, "savepoint", real)
        assert sender.drain(kinds=PUBLIC_LANE) == 5  # found on the platform: recorded as sent
    finally:
        sender.close()
    assert len(world.wechat.replies) == 5  # none twice
    rows = world.store.query("select status, last_error from outbox where kind = 'reply'")
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["last_error"] for r in rows} == {"reply found on the platform after a restart"}


def test_an_outcome_that_fails_alone_leaves_the_others_recorded(
        world: PipelineWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    _urgent_comments(world, 4)
    first = world.store.query("select case_id from outbox where kind = 'reply' "
                              "order by id limit 1")[0]["case_id"]
    import bot.sender as sender_module

    real = sender_module.sending.first_reply

    def broken(db: Any, case_id: int, now: str) -> None:
        if int(case_id) == int(first):
            raise ValueError("a bug in one row's bookkeeping")
        real(db, case_id, now)

    monkeypatch.setattr(sender_module.sending, "first_reply", broken)
    sender = _sender(world, world.wechat, concurrency=2)
    try:
        assert sender.drain(kinds=PUBLIC_LANE) == 4
    finally:
        sender.close()
    rows = world.store.query("select case_id, status from outbox where kind = 'reply'")
    assert sorted(r["status"] for r in rows) == ["inflight", "sent", "sent", "sent"]
    assert next(r["status"] for r in rows if r["case_id"] == first) == "inflight"
