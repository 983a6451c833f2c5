"""The store's small interface behaves the same on SQLite and on PostgreSQL (every test here runs
once per engine: see the ``db_target`` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.errors import StoreBusy, StoreError
from bot.store import Store, insert_row
from bot.store.engine import redact_url, to_pyformat


@pytest.fixture
def store(db_target: str) -> Iterator[Store]:
    s = Store(db_target)
    yield s
    s.close()


def _case(store: Store, comment_id: str, status: str = "review") -> int:
    with store.transaction() as tx:
        return insert_row(tx, "cases", {"comment_id": comment_id, "account": "main",
                                        "status": status, "opened_at": store.now()},
                          on_conflict="ignore")


def test_rows_answer_by_position_and_by_name(store: Store) -> None:
    _case(store, "c1")
    with store.transaction() as tx:
        row = tx.execute("select id, status from cases where comment_id = ?", ["c1"]).fetchone()
        assert row is not None
        case_id, status = row
        assert (row[0], row["status"], dict(row)) == (case_id, "review",
                                                       {"id": case_id, "status": "review"})
        assert [tuple(r) for r in tx.execute("select status from cases")] == [("review",)]
        assert tx.query("select count(*) as n from cases") == [{"n": 1}]
        assert tx.execute("select id from cases where comment_id = ?", ["nope"]).fetchone() is None
    assert store.query("select comment_id, status from cases") == [
        {"comment_id": "c1", "status": "review"}]


def test_insert_row_returns_the_new_id_and_ignores_or_replaces_conflicts(store: Store) -> None:
    first, second = _case(store, "c1"), _case(store, "c2")
    assert first > 0 and second == first + 1
    assert _case(store, "c1") == 0  # ignored: the comment already has its case
    with store.transaction() as tx:
        assert insert_row(tx, "meta", {"key": "k", "value": "1"}, on_conflict="ignore") == 1
        assert insert_row(tx, "meta", {"key": "k", "value": "2"}, on_conflict="ignore") == 0
        assert insert_row(tx, "meta", {"key": "k", "value": "3"}, on_conflict="replace") == 1
    assert store.get_meta("k") == "3"
    store.set_meta("k", "4")
    assert store.get_meta("k") == "4"
    with pytest.raises(StoreError) as caught, store.transaction() as tx:
        insert_row(tx, "meta", {"key": "k", "value": "5"})
    assert not isinstance(caught.value, StoreBusy)  # a conflict will not pass with time


def test_rowcount_after_update_and_delete(store: Store) -> None:
    for cid in ("c1", "c2", "c3"):
        _case(store, cid)
    with store.transaction() as tx:
        assert tx.execute("update cases set status = ? where comment_id in (?, ?)",
                          ["resolved", "c1", "c2"]).rowcount == 2
        assert tx.execute("delete from cases where status = ?", ["resolved"]).rowcount == 2


def test_a_transaction_reads_its_own_writes_and_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        insert_row(tx, "meta", {"key": "half", "value": "done"})
        assert store.query("select value from meta where key = ?", ["half"]) == [
            {"value": "done"}]  # on this thread: the transaction's own connection
        raise RuntimeError("stop")
    assert store.get_meta("half") is None


def test_a_reader_on_another_thread_does_not_see_uncommitted_writes(store: Store) -> None:
    seen: list[object] = []
    with store.transaction() as tx:
        insert_row(tx, "meta", {"key": "k", "value": "v"})
        reader = threading.Thread(target=lambda: seen.append(store.get_meta("k")))
        reader.start()
        reader.join()
    assert seen == [None]
    assert store.get_meta("k") == "v"


def test_driver_errors_become_store_errors(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        store.query("select * from nowhere")
    assert "nowhere" in str(caught.value)
    with pytest.raises(StoreError), store.transaction() as tx:
        tx.execute("update no_such_table set x = 1")
    assert store.query("select count(*) as n from cases") == [{"n": 0}]  # still usable


def test_question_marks_and_percent_signs_in_text_stay_text(store: Store) -> None:
    with store.transaction() as tx:
        insert_row(tx, "meta", {"key": "q", "value": "能不能优先安排？100%"})
        insert_row(tx, "meta", {"key": "literal?", "value": "x"})
    rows = store.query("select key from meta where value like ? and key != 'literal?'",
                       ["%100%%"])
    assert rows == [{"key": "q"}]


def test_portable_sql_is_rewritten_for_psycopg_outside_quotes_only() -> None:
    assert to_pyformat("select * from t where a = ? and b like '%x?' and c = ?") == (
        "select * from t where a = %s and b like '%%x?' and c = %s")
    assert to_pyformat('select "odd?col" from t where a = ?') == (
        'select "odd?col" from t where a = %s')


def test_the_password_of_a_url_is_never_shown() -> None:
    assert redact_url("postgresql://bot:s3cret@db:5432/dianhua") == (
        "postgresql://bot:***@db:5432/dianhua")
    assert redact_url("postgresql://bot@db/dianhua") == "postgresql://bot@db/dianhua"


def test_postgres_connections_lost_are_replaced_by_the_pool(pg_url: str) -> None:
    """A PostgreSQL restart kills every connection: the store carries on with new ones."""
    import psycopg

    store = Store(pg_url)
    try:
        store.set_meta("k", "before")
        with psycopg.connect(pg_url, autocommit=True) as admin:
            killed = admin.execute(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                "where datname = current_database() and pid <> pg_backend_pid() "
                "and application_name = ''").fetchone()
        assert killed is not None and killed[0] >= 1
        assert store.get_meta("k") == "before"  # the pool checks, drops and reconnects
        store.set_meta("k", "after")
        assert store.get_meta("k") == "after"
    finally:
        store.close()


def test_postgres_unreachable_is_a_clear_store_error() -> None:
    with pytest.raises(StoreBusy) as caught:
        Store("postgresql://nobody:pw@127.0.0.1:9/none", busy_timeout=1)
    assert "127.0.0.1:9" in str(caught.value) and "pw" not in str(caught.value)
