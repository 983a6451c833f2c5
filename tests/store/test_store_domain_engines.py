"""The domain modules' SQL, moved into bot/store (issue 15), gives the same answers on both
engines: cases and their timeline, deadline breaches, labels, account pauses, private messages
and their 48-hour window, shadow scores, spike alerts and the retention purge.

Each test runs once on a SQLite file and once on a fresh PostgreSQL schema (``db_target``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from store_clock import Clock

from bot.cases import CaseBook, CaseError, CasePolicy, attach_comment, open_case, write_label
from bot.clock import iso
from bot.inbox import record_message
from bot.labels import export_labels
from bot.pauses import PauseBook
from bot.private import last_message_at, sent_in_window
from bot.retention import RetentionPolicy, purge
from bot.shadow import disagreements, score_shadow
from bot.store import Store, dumps
from bot.store.alerts import record_alert
from bot.store.outbox import enqueue
from connectors.wechat.push import PushMessage

PHONE = "13800000000"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)  # the store fixture (conftest.py) runs on it


def _comment(store: Store, uid: int, text: str, *, openid: str = "o1", msg: str = "100",
             state: str = "processed") -> dict[str, Any]:
    key = store.watch_article("acct", msg, 0, title="t")
    article = store.article(key)
    assert article is not None
    store.store_comments(article, [{"user_comment_id": uid, "openid": openid, "content": text,
                                    "create_time": int(store.clock().timestamp())}],
                         new_cursor=uid, next_poll_at=store.clock())
    cid = f"{key}:{uid}"
    with store.transaction() as db:
        db.execute("UPDATE comments SET state = ? WHERE id = ?", [state, cid])
    comment = store.comment(cid)
    assert comment is not None
    return comment


def test_a_case_from_opening_to_resolution(store: Store) -> None:
    first = _comment(store, 1, "孩子发烧，急")
    follow = _comment(store, 2, f"电话 {PHONE}")
    with store.transaction() as db:
        case_id = open_case(db, first, at=store.now(), route="pku")
        assert open_case(db, first, at=store.now()) == case_id  # once per comment
        attach_comment(db, case_id, follow, at=store.now(), status="contact_received")
    book = CaseBook(store)
    case = book.get(case_id)
    assert (case["status"], case["contact_phone"]) == ("contact_received", PHONE)
    assert case["contact_at"] == store.now()
    assert book.set_priority(case_id, "P2", actor="小王", note="不急") is True
    assert book.set_priority(case_id, "P2", actor="小王") is False
    book.note(case_id, f"已回电 {PHONE}", actor="小王")
    book.assign(case_id, "小李", actor="小王")
    assert book.hand_off(case_id, "nanshan", actor="小王", label="南山") is True
    assert book.hand_off(case_id, "nanshan", actor="小王") is False
    book.post_reply(case_id, "已转交，请留意来电", actor="小王")
    with pytest.raises(CaseError, match="只回复一次"):
        book.post_reply(case_id, "再说一次", actor="小王")
    assert book.set_status(case_id, "resolved", actor="小王", outcome="已办结") is True
    with pytest.raises(CaseError):
        book.get(case_id + 1000)

    case = book.get(case_id)
    assert (case["status"], case["priority"], case["assignee"], case["route"]) == (
        "resolved", "P2", "小李", "nanshan")
    assert case["handed_off_at"] and case["resolved_at"] and case["outcome"] == "已办结"
    events = book.events(case_id)
    assert [e["kind"] for e in events] == ["opened", "attach", "status", "priority", "note",
                                           "assign", "status", "reply", "status"]
    assert all(PHONE not in (e["note"] or "") for e in events)  # masked in every note
    outbox = store.query("SELECT kind, rule FROM outbox ORDER BY id")
    assert [(r["kind"], r["rule"]) for r in outbox] == [("notify", "editor:小王"),
                                                         ("reply", "editor:小王")]
    assert [c["id"] for c in book.list_cases(status="resolved")] == [case_id]
    assert book.list_cases(open_only=True) == []


def test_a_breach_is_recorded_and_notified_once(store: Store, clock: Clock) -> None:
    comment = _comment(store, 1, "急")
    with store.transaction() as db:
        case_id = open_case(db, comment, at=store.now(), priority="P1")
    book = CaseBook(store, CasePolicy(no_response_hours=0))
    clock.now = START + timedelta(minutes=10)
    assert book.check_deadlines(clock.now) == [(case_id, "first_reply")]
    assert book.check_deadlines(clock.now) == []
    assert [r["key"] for r in store.query("SELECT key FROM outbox")] == [
        f"case:{case_id}:breach:first_reply"]
    late = book.list_cases(late=True)
    assert [c["id"] for c in late] == [case_id] and late[0]["due"][0] == "first_reply"


def test_labels_keep_every_mark_and_export(store: Store) -> None:
    comment = _comment(store, 1, f"急，电话 {PHONE}")
    with store.transaction() as db:
        write_label(db, comment["id"], urgent=True, editor="小王", at=store.now())
        write_label(db, comment["id"], urgent=None, editor="小李", at=store.now(),
                    category="寻医买药")
    label = store.query("SELECT urgent, category, editor FROM labels")
    assert label == [{"urgent": 1, "category": "寻医买药", "editor": "小李"}]
    history = store.query("SELECT urgent, kind FROM label_history ORDER BY id")
    assert history == [{"urgent": 1, "kind": "urgent"}, {"urgent": None, "kind": "category"}]
    out = export_labels(store)
    assert [(r["urgent"], r["category"]) for r in out.labels] == [(1, "寻医买药")]
    assert PHONE not in out.labels[0]["text"]


def test_account_pauses(store: Store) -> None:
    pauses = PauseBook(store)
    later = START + timedelta(hours=1)
    assert pauses.pause("acct", reason="daily quota", errcode=45009, until=later,
                        next_probe_at=later, announced=True) is True
    assert pauses.pause("acct", reason="credentials refused", errcode=40164,
                        until=later + timedelta(hours=1), next_probe_at=later) is False
    pauses.probe_later("acct", later)
    row = pauses.all()["acct"]
    assert (row["reason"], row["errcode"], row["probes"], row["announced"]) == (
        "credentials refused", 40164, 1, 1)
    assert row["paused_at"] == store.now()
    lifted = pauses.resume("acct")
    assert lifted is not None and lifted["account"] == "acct"
    assert pauses.resume("acct") is None and pauses.all() == {}


def test_private_messages_are_stored_once_and_date_the_window(store: Store) -> None:
    t = int(START.timestamp())
    text = PushMessage("gh_1", "reader", t, "text", msg_id=7, content="你好")
    event = PushMessage("gh_1", "reader", t + 60, "event", event="subscribe")
    assert record_message(store, "acct", text, store.now()) is True
    assert record_message(store, "acct", text, store.now()) is False  # the platform's retry
    assert record_message(store, "acct", event, store.now()) is True
    comment = store.comment("acct:message:0:7")
    assert comment is not None and comment["channel"] == "message"
    assert last_message_at(store, "acct", "reader") == START  # the event does not count
    assert last_message_at(store, "acct", "nobody") is None
    with store.transaction() as db:
        for n, openid in enumerate(["reader", "reader", "other"]):
            enqueue(db, key=f"m{n}", comment_id="", case_id=None, account="acct", kind="message",
                    rule="editor:小王", params={"openid": openid, "text": "hi"}, at=store.now())
        db.execute("UPDATE outbox SET status = 'sent', sent_at = ?", [store.now()])
    assert sent_in_window(store, "acct", "reader", START) == 2
    assert sent_in_window(store, "acct", "reader", START + timedelta(seconds=1)) == 0


@dataclass
class _Prediction:
    score: float
    band: str
    category: str


class _Shadow:
    version = "cand-1"

    def predict_many(self, texts: list[str]) -> list[_Prediction]:
        return [_Prediction(0.9, "urgent", "寻医买药") for _ in texts]


def test_shadow_scores_once_per_comment_and_lists_disagreements(store: Store) -> None:
    comment = _comment(store, 1, "孕妇")
    with store.transaction() as db:
        db.execute("INSERT INTO classifications (comment_id, score, band, category, model_version, "
                   "processed_at) VALUES (?, ?, ?, ?, ?, ?)",
                   [comment["id"], 0.1, "below", "other", "live-1", store.now()])
    assert score_shadow(store, _Shadow(), store.now(), store.now()) == 1
    assert score_shadow(store, _Shadow(), store.now(), store.now()) == 0
    rows = disagreements(store)
    assert [(r["comment_id"], r["band"], r["live_band"]) for r in rows] == [
        (comment["id"], "urgent", "below")]


def test_a_spike_alert_is_recorded_once(store: Store) -> None:
    comment = _comment(store, 1, "又停电了")
    alert = {"key": "k1", "rule": "blackout", "per": "article", "scope": "acct:100:0",
             "grp": "duty", "count": 5, "baseline": 1.0, "at": store.now(),
             "window_start": store.now(), "comment_ids": dumps([comment["id"]]), "text": "spike",
             "account": "acct"}
    notify = {"key": "alert:k1", "comment_id": comment["id"], "case_id": None,
              "account": "acct", "kind": "notify", "rule": "spike:blackout",
              "params": {"group": "duty", "text": "spike"}, "at": store.now()}
    assert record_alert(store, alert, notify) is True
    assert record_alert(store, alert, notify) is False
    assert len(store.query("SELECT id FROM alerts")) == 1
    assert [r["key"] for r in store.query("SELECT key FROM outbox")] == ["alert:k1"]


def test_retention_purge(store: Store, clock: Clock) -> None:
    gone = _comment(store, 1, "谢谢", msg="old")
    closed = _comment(store, 2, f"急 {PHONE}", msg="old")
    with store.transaction() as db:
        case_id = open_case(db, closed, at=store.now())
    CaseBook(store).set_status(case_id, "resolved", actor="小王", outcome="已回电")
    with store.transaction() as db:
        db.execute("UPDATE articles SET active = 0")
    clock.now = START + timedelta(days=200)
    dry = purge(store, RetentionPolicy(), dry_run=True)
    assert store.comment(gone["id"]) is not None  # a dry run changes nothing
    report = purge(store, RetentionPolicy())
    assert dry.as_dict() | {"dry_run": False} == report.as_dict()
    assert (report.cases_deleted, report.comments_deleted) == (1, 2)
    assert store.query("SELECT id FROM cases") == [] and store.query("SELECT id FROM comments") == []
    assert iso(clock.now)  # the clock drove every cut-off
