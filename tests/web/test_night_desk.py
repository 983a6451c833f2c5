"""Issue 12 items 2 and 10 on the desk: an analyst's write lock neither freezes the queue nor
turns an editor's click into a bare 500."""

from __future__ import annotations

import subprocess
import sys

import pytest
from desk_helpers import Host, csrf_of
from starlette.testclient import TestClient
from test_desk_pages import seed_case

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@pytest.mark.sqlite_only  # another process holding SQLite's write lock
def test_the_desk_reads_through_a_write_lock_and_says_when_it_cannot_write(
    editor: TestClient, host: Host
) -> None:
    case_id = seed_case(host)
    host.store.db.execute("PRAGMA busy_timeout = 50")  # the writer gives up quickly
    lock = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, host.store.path],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert lock.stdout is not None and lock.stdout.readline().strip() == "locked"
        queue = editor.get("/")
        assert queue.status_code == 200 and f"#{case_id}" in queue.text
        page = editor.get(f"/case/{case_id}")
        assert page.status_code == 200
        r = editor.post(f"/case/{case_id}", data={"action": "note", "note": "已电话联系",
                                                  "csrf": csrf_of(page.text)})
        assert r.status_code == 503
        assert "数据库暂时不可用" in r.text and "这次操作没有保存" in r.text
    finally:
        assert lock.stdin is not None
        lock.stdin.write("\n")
        lock.stdin.flush()
        lock.wait(30)
    assert [e["kind"] for e in host.cases.events(case_id)] == ["opened"]
