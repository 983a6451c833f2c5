"""The storage layer's portable rewrites keep SQLite's old answers (issue 15).

Where a statement moved into ``bot/store`` had to drop a SQLite-only construct (``instr``,
two-argument ``max``, ``INSERT OR REPLACE``, ``sqlite_master``), these pin the behaviour the
old statement had.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import iso
from bot.store import Store, desk_queries, processing, reports, sessions, throttle

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "dianhua.db", clock=lambda: NOW)
    yield s
    s.close()


def _comment(store: Store, n: int, content: str) -> str:
    key = store.watch_article("acct", "100", 0, title="t")
    store.store_comments(store.article(key) or {}, [
        {"user_comment_id": n, "openid": f"o{n}", "content": content,
         "create_time": int(NOW.timestamp())}], new_cursor=n, next_poll_at=NOW)
    return f"acct:100:0:{n}"


def test_stream_text_is_a_case_sensitive_substring_without_wildcards(store: Store) -> None:
    _comment(store, 1, "Hello 电话发我")
    _comment(store, 2, "50% off_sale")
    _comment(store, 3, "nothing here")

    def ids(text: str) -> set[str]:
        return {r["id"] for r in desk_queries.stream(store, text=text)}

    assert ids("电话") == {"acct:100:0:1"}
    assert ids("Hello") == {"acct:100:0:1"}
    assert ids("hello") == set()  # instr() was case-sensitive; LIKE would not be
    assert ids("%") == {"acct:100:0:2"}  # a literal percent sign, not "anything"
    assert ids("f_s") == {"acct:100:0:2"}
    assert ids("o_f") == set()  # "_" is not "any character"


def test_throttle_prefix_is_exact_and_case_sensitive(store: Store) -> None:
    later = iso(NOW + timedelta(minutes=5))
    with store.transaction() as db:
        throttle.save(db, "pair\tbob\t10.0.0.1", 4, later, iso(NOW))
        throttle.save(db, "pair\tBob\t10.0.0.1", 9, iso(NOW + timedelta(hours=1)), iso(NOW))
        throttle.save(db, "pair\tbobby\t10.0.0.1", 9, iso(NOW + timedelta(hours=1)), iso(NOW))
        throttle.save(db, "addr\t10.0.0.1", 0, None, iso(NOW))
        throttle.take_back_one(db, "addr\t10.0.0.1")  # never below zero
    assert throttle.latest_block(store, "pair\tbob\t") == later
    with store.transaction() as db:
        assert throttle.get(db, "addr\t10.0.0.1") == {
            "failures": 0, "blocked_until": None, "updated_at": iso(NOW)}
        assert throttle.remove_prefix(db, "pair\tbob\t") == 1
        assert throttle.get(db, "pair\tBob\t10.0.0.1") is not None
        assert throttle.get(db, "pair\tbobby\t10.0.0.1") is not None


def test_a_second_classification_replaces_the_first(store: Store) -> None:
    cid = _comment(store, 1, "text")
    row = {c: None for c in processing.CLASSIFICATION_COLUMNS}
    row.update(comment_id=cid, score=0.9, band="auto", category="a", processed_at=iso(NOW))
    trace = {"comment_id": cid, "position": 0, "rule": "r1", "conditions": "[]", "matched": 1,
             "shadow": 0, "suppressed": "[]"}
    with store.transaction() as db:
        assert processing.comment_state(db, cid) == "new"
        processing.write_classification(db, row)
        processing.write_classification(db, {**row, "score": 0.2, "band": "below"})
        processing.write_trace(db, trace)
        processing.write_trace(db, {**trace, "rule": "r2"})
        processing.set_comment_state(db, cid, "processed")
        assert processing.comment_state(db, cid) == "processed"
        assert processing.comment_state(db, "acct:100:0:404") is None
    got = desk_queries.classification(store, cid) or {}
    assert (got["score"], got["band"]) == (0.2, "below")
    assert [t["rule"] for t in desk_queries.traces(store, cid)] == ["r2"]


def test_sessions_keep_their_user(store: Store) -> None:
    sessions.add(store, "h", "user", iso(NOW), "127.0.0.1")  # "user": reserved in PostgreSQL
    assert (sessions.get(store, "h") or {})["user"] == "user"
    assert sessions.revoke(store, "user") == 1
    assert sessions.get(store, "h") is None


def test_report_alerts_on_a_file_from_before_spike_alerts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for table in ("comments", "classifications", "cases", "outbox"):
            db.execute(f"create table {table} (id text)")
    query, close = reports.open_readonly(path)
    try:
        assert reports.has_table(query, "alerts") is False
        assert reports.alerts(query, reports.Period(NOW - timedelta(days=1), NOW)) == []
    finally:
        close()
