"""One set of migrations for both engines: a fresh SQLite file has exactly the schema the
sqlite-utils migrations made before issue 15, a file they made upgrades in place, and
PostgreSQL gets the same tables and columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from bot.store.migrations import BOOKKEEPING, MIGRATIONS

# Made by the code of main 10d5795 (sqlite-utils' Migrations("dianhua"), m001–m012b) with an
# article, a comment, a case, an outbox row and a meta key: `sqlite3 old.db .dump`.
PRE_ISSUE15 = Path(__file__).with_name("pre_issue15.sql")


# What migrations after the pre-issue-15 set add (m014: the replicas' leases and outbox claims;
# m015: the outbox rows' article; m015b: the pipeline's pending-order index): a whole table
# (None) or columns, and indexes; left out when the schema is compared with the old one.
LATER: dict[str, tuple[str, ...] | None] = {"leases": None,
                                            "outbox": ("claimed_by", "claim_until", "article_id")}
LATER_INDEXES: dict[str, tuple[str, ...]] = {
    "outbox": ("idx_outbox_article_id_kind_created_at",),
    "comments": ("idx_comments_pending",),
}


def _without_later(schema: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for table, shape in schema.items():
        if table in LATER and LATER[table] is None:
            continue
        later = LATER.get(table) or ()
        later_indexes = LATER_INDEXES.get(table, ())
        out[table] = {**shape, "columns": [c for c in shape["columns"] if c[0] not in later],
                      "indexes": {name: index for name, index in shape["indexes"].items()
                                  if name not in later_indexes}}
    return out


def test_the_later_migrations_add_what_the_comparison_leaves_out(tmp_path: Path) -> None:
    Store(tmp_path / "new.db").close()
    schema = _schema(tmp_path / "new.db")
    assert "leases" in schema
    outbox = [c[0] for c in schema["outbox"]["columns"]]
    assert {"claimed_by", "claim_until", "article_id"} <= set(outbox)
    assert schema["outbox"]["indexes"]["idx_outbox_article_id_kind_created_at"] == (
        0, ["article_id", "kind", "created_at"])
    assert schema["comments"]["indexes"]["idx_comments_pending"] == (
        0, ["state", "received_at", "create_time", "user_comment_id"])


def _old_file(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(PRE_ISSUE15.read_text(encoding="utf-8"))
    conn.close()
    return path


def _schema(path: Path) -> dict[str, Any]:
    """Every table's columns (name, type, not null, default, pk) and indexes, from SQLite."""
    conn = sqlite3.connect(path)
    out: dict[str, Any] = {}
    tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
    for table in sorted(t for t in tables if t not in BOOKKEEPING):
        cols = [tuple(r[1:]) for r in conn.execute(f'pragma table_info("{table}")')]
        indexes = {}
        for _, name, unique, origin, _partial in conn.execute(f'pragma index_list("{table}")'):
            if origin == "pk":
                continue
            indexes[name] = (unique, [r[2] for r in conn.execute(f'pragma index_info("{name}")')])
        fks = [tuple(r[2:5]) for r in conn.execute(f'pragma foreign_key_list("{table}")')]
        out[table] = {"columns": cols, "indexes": indexes, "foreign_keys": fks}
    conn.close()
    return out


def test_a_fresh_sqlite_file_has_the_schema_the_old_migrations_made(tmp_path: Path) -> None:
    Store(tmp_path / "new.db").close()
    old = _schema(_old_file(tmp_path / "old.db"))
    new = _without_later(_schema(tmp_path / "new.db"))
    assert sorted(new) == sorted(old)
    for table in old:
        assert new[table] == old[table], table


def test_a_file_made_by_sqlite_utils_migrations_upgrades_in_place(tmp_path: Path) -> None:
    path = _old_file(tmp_path / "old.db")
    before = _schema(path)
    store = Store(path)  # would fail ("table articles already exists") if m001 ran again
    try:
        assert _without_later(_schema(path)) == before  # nothing re-created, nothing lost
        names = {r["name"] for r in store.query("select name from schema_migrations")}
        assert names >= {name for name, _ in MIGRATIONS if name <= "m012b"}
        assert store.get_meta("model_version") == "v1"
        assert [c["content"] for c in store.query("select content from comments")] == [
            "能不能优先安排，因为真的挺急"]
        assert store.query("select status, reason from cases") == [
            {"status": "awaiting_contact", "reason": "安全网"}]
        # m015: the old outbox row is back-filled with its comment's article
        assert store.query("select article_id from outbox") == [
            {"article_id": "main:2247483650:1"}]
        # the database hands out the next ids after the old rows
        with store.transaction() as tx:
            new_id = tx.execute(
                "insert into cases (comment_id, account, status) values (?, ?, ?) returning id",
                ["main:2247483650:1:2", "main", "review"]).fetchone()
        assert new_id is not None and new_id[0] == 2
    finally:
        store.close()
    Store(path).close()  # and a second open applies nothing


def test_postgres_gets_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    Store(tmp_path / "new.db").close()
    sqlite_tables = _schema(tmp_path / "new.db")
    store = Store(pg_url)
    try:
        tables = {r["table_name"] for r in store.query(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema()")}
        assert tables - set(BOOKKEEPING) == set(sqlite_tables)
        for table, shape in sqlite_tables.items():
            cols = [r["column_name"] for r in store.query(
                "select column_name from information_schema.columns where "
                "table_schema = current_schema() and table_name = ? order by ordinal_position",
                [table])]
            assert cols == [c[0] for c in shape["columns"]], table
        indexes = {r["indexname"] for r in store.query(
            "select indexname from pg_indexes where schemaname = current_schema()")}
        assert {name for shape in sqlite_tables.values() for name in shape["indexes"]} <= indexes
    finally:
        store.close()


def test_migrations_are_recorded_by_name_and_run_once(db_target: str) -> None:
    Store(db_target).close()
    store = Store(db_target)
    try:
        names = [r["name"] for r in store.query("select name from schema_migrations")]
        assert sorted(names) == sorted(name for name, _ in MIGRATIONS)
    finally:
        store.close()


@pytest.mark.parametrize("name", [name for name, _ in MIGRATIONS])
def test_migration_names_carry_an_issue_prefix(name: str) -> None:
    assert name[0] == "m" and name[1:4].isdigit()


def test_replicas_starting_together_on_one_sqlite_file_migrate_once(tmp_path: Path) -> None:
    """Four stores opened at the same moment on a new file: all open, each migration once."""
    import threading

    path = tmp_path / "shared.db"
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait()
        try:
            Store(path).close()
        except BaseException as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    store = Store(path)
    names = [r["name"] for r in store.query("select name from schema_migrations")]
    store.close()
    assert len(names) == len(set(names)) == len(MIGRATIONS)
