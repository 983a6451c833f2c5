"""The pipeline's per-comment reads cost the same whether the database holds a hundred replies
or many thousands: they read the writer's own rows by index, never every reply ever sent.

Counted in SQLite virtual-machine steps (a progress handler called on every instruction), not
in seconds, so the check is exact and independent of the machine. Issue 16 found the writer's
"last public reply" read walking every reply row once per comment (quadratic in the backlog).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store_clock import Clock

from bot.store import Store

WRITER = "o_writer"


def _fill(path: Path, others: int) -> None:
    """The writer's two comments (one replied to) and ``others`` writers with one reply each."""
    conn = sqlite3.connect(path)
    rows = [(f"c-w{i}", "main", WRITER) for i in range(2)]
    rows += [(f"c-{i}", "main", f"o_{i}") for i in range(others)]
    conn.executemany("insert into comments (id, account, openid, content, state, received_at) "
                     "values (?, ?, ?, '问题', 'done', '2026-03-01T08:00:00+00:00')", rows)
    replies = [("c-w0", "2026-03-01T08:00:01+00:00")]
    replies += [(f"c-{i}", f"2026-03-01T09:{i // 60 % 60:02d}:{i % 60:02d}+00:00")
                for i in range(others)]
    conn.executemany("insert into outbox (key, comment_id, account, kind, status, created_at) "
                     "values ('k-' || ?1, ?1, 'main', 'reply', 'sent', ?2)", replies)
    conn.commit()
    conn.close()


def _steps(store: Store, read: Callable[[], Any]) -> tuple[int, Any]:
    conn = store.engine._reader()  # type: ignore[attr-defined]
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    conn.set_progress_handler(tick, 1)
    try:
        out = read()
    finally:
        conn.set_progress_handler(None, 0)
    return count[0], out


def _history_steps(tmp_path: Path, others: int) -> tuple[int, Any]:
    path = tmp_path / f"db-{others}.sqlite"
    Store(path, clock=Clock()).close()  # the schema, migrated
    _fill(path, others)
    store = Store(path, clock=Clock())
    try:
        return _steps(store, lambda: store.writer_history("main", WRITER, "c-w1"))
    finally:
        store.close()


def test_writer_history_reads_only_the_writers_rows(tmp_path: Path) -> None:
    few, small = _history_steps(tmp_path, 100)
    many, large = _history_steps(tmp_path, 5_000)
    assert small == large  # the same answer: one earlier comment, its reply's time
    assert small[0] == 1 and small[2] is not None
    # 50 times as many other replies: the same work, give or take the planner's constants
    assert many < few * 1.5, (few, many)
