"""What we know, durably, and whether it has already happened: one SQLite file.

Tables (see docs/architecture.md for every column):

* ``articles``        watched articles, their poll cursor and schedule
* ``comments``        comments as received (raw text; the file stays inside)
* ``classifications`` one row per processed comment: score, band, category, rules version
* ``traces``          every rule's evaluation for every comment (conditions true/false)
* ``outbox``          side effects to perform (reply, notify, feature, unfeature), exactly once
* ``cases``           one per person's request; ``case_events`` is its audit trail
* ``breaches``        deadline breaches, recorded (and notified) once
* ``labels``          editors' corrections, kept for retraining (``label_history``: every mark)
* ``shadow_scores``   a shadowed candidate model's score for each new comment (never acted on)

Writes are idempotent: comments are keyed by ``account:msg_data_id:index:user_comment_id``
and inserted with ``ignore``; a comment is processed once because its classification row, its
traces, its outbox rows and its case are written in one transaction guarded by that key.
Schema changes go through :data:`MIGRATIONS` so an older file upgrades in place.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import Clock, iso, parse_iso, utcnow
from bot.errors import StoreBusy, StoreError
from bot.files import private_dir, private_file
from bot.store.engine import (
    Engine,
    SQLiteEngine,
    Transaction,
    is_postgres_url,
    open_engine,
    redact_url,
    sqlite_error,
)
from bot.store.migrations import ID_TABLES, MIGRATIONS, PRIMARY_KEYS, migrate


def insert_row(db: Transaction, table: str, row: dict[str, Any], *, on_conflict: str = "") -> int:
    """One portable ``INSERT`` in a transaction; returns the new row's id, or 1, or 0.

    ``on_conflict``: ``""`` (a conflict is an error), ``"ignore"`` (``ON CONFLICT DO NOTHING``)
    or ``"replace"`` (``ON CONFLICT (primary key) DO UPDATE`` every other column). Returns the
    id the database gave the row for the tables with an integer id (``RETURNING id``), else 1
    when a row was written; 0 when an ``ignore`` insert changed nothing.
    """
    cols = list(row)
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    if on_conflict == "ignore":
        sql += " ON CONFLICT DO NOTHING"
    elif on_conflict == "replace":
        pk = PRIMARY_KEYS[table]
        rest = [c for c in cols if c not in pk]
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in rest)
        sql += f' ON CONFLICT ({", ".join(pk)}) ' + (f"DO UPDATE SET {sets}" if rest
                                                      else "DO NOTHING")
    elif on_conflict:
        raise ValueError(f"on_conflict must be '', 'ignore' or 'replace', not {on_conflict!r}")
    if table in ID_TABLES:
        found = db.execute(sql + " RETURNING id", list(row.values())).fetchone()
        return int(found[0]) if found is not None else 0
    return 1 if db.execute(sql, list(row.values())).rowcount else 0


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def article_key(account: str, msg_data_id: str | int, index: int) -> str:
    return f"{account}:{msg_data_id}:{index}"


def comment_key(account: str, msg_data_id: str | int, index: int, user_comment_id: int) -> str:
    return f"{account}:{msg_data_id}:{index}:{user_comment_id}"


_COMMENT_COLUMNS = ("id", "account", "article_id", "msg_data_id", "idx", "user_comment_id", "openid",
                    "content", "create_time", "comment_type", "had_reply", "received_at", "state")
_INSERT_COMMENT = (f"INSERT INTO comments ({', '.join(_COMMENT_COLUMNS)}) VALUES "
                   f"({', '.join('?' for _ in _COMMENT_COLUMNS)}) ON CONFLICT (id) DO NOTHING")


def article_of(comment_id: str) -> str:
    """The article key of a comment key (``account:msg_data_id:index``); '' for no comment."""
    head, sep, _ = comment_id.rpartition(":")
    return head if sep and head.count(":") >= 2 else ""


class Store:
    """A thread-safe handle on dianhua's database: a SQLite file (default) or PostgreSQL.

    ``target`` is a file path (SQLite: one writer at a time, WAL for readers) or a
    ``postgresql://`` URL (a pooled connection per unit of work); see
    :mod:`bot.store.engine`. Transactions in one process run one at a time; reads outside a
    transaction never wait behind one (the desk never waits for the pipeline). Every driver
    error leaves this class as a :class:`StoreError` (:class:`StoreBusy` when waiting and
    trying again can help).

    ``must_exist`` refuses to create a missing file (read-only commands); ``create_dirs``
    creates missing parent folders (the daemon's default ``var/``); ``busy_timeout`` is how long
    a statement waits for another process's lock (or a free pooled connection) before
    :class:`StoreBusy`.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        clock: Clock = utcnow,
        must_exist: bool = False,
        create_dirs: bool = True,
        busy_timeout: float = 30.0,
    ) -> None:
        self.path = str(path) if path is not None else ":memory:"
        self.clock = clock
        self.busy_timeout = busy_timeout
        if is_postgres_url(self.path):
            self.engine: Engine = open_engine(self.path, busy_timeout=busy_timeout)
            self.path = redact_url(self.path)  # what messages name: no password
            try:
                migrate(self.engine, self.now())
            except BaseException:
                self.engine.close()
                raise
            return
        memory = self.path == ":memory:"
        if not memory:
            file = Path(self.path)
            if file.is_dir():
                raise StoreError(f"{self.path} is a folder, not a database file")
            if must_exist and not file.exists():
                raise StoreError(f"no database at {self.path}; pass --config or set DIANHUA_DB "
                                 "(the daemon creates it on its first run)")
            if not file.parent.exists():
                if not create_dirs:
                    raise StoreError(f"cannot create the database {self.path}: the folder "
                                     f"{file.parent} does not exist")
                try:
                    private_dir(file.parent)  # 0700, every folder it creates
                except OSError as exc:
                    raise StoreError(f"cannot create the folder {file.parent} for the database: "
                                     f"{exc.strerror or exc}") from exc
        try:
            if not memory:
                private_dir(Path(self.path).parent)
                # 0600 before SQLite writes anything: its -wal and -shm copy the file's mode
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
                private_file(self.path)
            self.engine = SQLiteEngine(self.path, busy_timeout=busy_timeout)
            if not memory:
                for suffix in ("-wal", "-shm"):
                    private_file(self.path + suffix)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        try:
            migrate(self.engine, self.now())
        except StoreError as exc:
            self.engine.close()
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgres"``."""
        return self.engine.dialect

    @property
    def db(self) -> Any:
        """SQLite only: the sqlite-utils ``Database`` on the write connection (tests, tools)."""
        if not isinstance(self.engine, SQLiteEngine):
            raise AttributeError("store.db is the SQLite connection; this store is PostgreSQL")
        return self.engine.db

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work, serialised across this process's threads.

        A driver error anywhere in it (begin, body, commit) rolls back and becomes a
        :class:`StoreError`; other exceptions roll back and propagate unchanged.
        """
        with self.engine.transaction() as tx:
            yield tx

    @contextmanager
    def savepoint(self, db: Transaction, name: str = "one") -> Iterator[Transaction]:
        """A nested unit inside :meth:`transaction`: its writes are undone alone when it raises.

        The pipeline writes a batch of comments in one transaction, one savepoint each, so a
        comment that fails by itself leaves the others' writes in place. Portable
        (``SAVEPOINT`` / ``RELEASE`` / ``ROLLBACK TO`` on SQLite and PostgreSQL): see
        :meth:`bot.store.engine.Transaction.savepoint`. A database error in it is a
        :class:`StoreError` (the whole transaction then rolls back); other exceptions undo the
        savepoint's writes and propagate unchanged.
        """
        with db.savepoint(name) as tx:
            yield tx

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Outside a transaction it never waits for one; inside one (on this
        thread) it reads on the transaction's connection."""
        return self.engine.query(sql, params)

    def now(self) -> str:
        return iso(self.clock())

    def close(self) -> None:
        self.engine.close()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("select value from meta where key = ?", [key])
        return rows[0]["value"] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            insert_row(db, "meta", {"key": key, "value": value}, on_conflict="replace")

    # -- articles -------------------------------------------------------------------------
    def watch_article(
        self,
        account: str,
        msg_data_id: str | int,
        index: int,
        *,
        title: str = "",
        source: str = "config",
        published_at: datetime | None = None,
    ) -> str:
        """Start watching an article (idempotent). Returns its key."""
        key = article_key(account, msg_data_id, index)
        now = self.now()
        with self.transaction() as db:
            insert_row(
                db,
                "articles",
                {
                    "id": key,
                    "account": account,
                    "msg_data_id": str(msg_data_id),
                    "idx": index,
                    "title": title,
                    "source": source,
                    "published_at": iso(published_at) if published_at else now,
                    "added_at": now,
                    "cursor": 0,
                    "next_poll_at": now,
                    "active": 1,
                    "polls": 0,
                },
                on_conflict="ignore",
            )
            if title:
                db.execute(
                    "update articles set title = ? where id = ? and (title is null or title = '')",
                    [title, key],
                )
        return key

    def due_articles(
        self, now: datetime, limit: int = 50, skip_accounts: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Articles due for a poll, most overdue first, leaving out ``skip_accounts`` (paused)."""
        skip = ""
        if skip_accounts:
            skip = f" and account not in ({', '.join('?' for _ in skip_accounts)})"
        return self.query(
            f"select * from articles where active = 1 and next_poll_at <= ?{skip} "
            "order by next_poll_at limit ?",
            [iso(now), *skip_accounts, limit],
        )

    def article(self, key: str) -> dict[str, Any] | None:
        rows = self.query("select * from articles where id = ?", [key])
        return rows[0] if rows else None

    def articles(self) -> list[dict[str, Any]]:
        return self.query("select * from articles order by added_at")

    # -- comments -------------------------------------------------------------------------
    def store_comments(
        self,
        article: dict[str, Any],
        comments: Sequence[dict[str, Any]],
        *,
        new_cursor: int,
        next_poll_at: datetime,
        active: bool = True,
        skip_before: datetime | None = None,
        full_scan: bool = False,
    ) -> int:
        """Store a page of comments and advance the article's cursor, atomically.

        Returns how many comments were new. ``comments`` are dicts with the platform's fields
        (user_comment_id, openid, content, create_time, comment_type, reply). Comments created
        before ``skip_before`` are stored as ``skipped`` (seen, never acted on).
        """
        now = self.now()
        rows = []
        for c in comments:
            created = int(c.get("create_time") or 0)
            state = "new"
            if skip_before is not None and created and created < skip_before.timestamp():
                state = "skipped"
            rows.append(
                {
                    "id": comment_key(
                        article["account"],
                        article["msg_data_id"],
                        article["idx"],
                        int(c["user_comment_id"]),
                    ),
                    "account": article["account"],
                    "article_id": article["id"],
                    "msg_data_id": article["msg_data_id"],
                    "idx": article["idx"],
                    "user_comment_id": int(c["user_comment_id"]),
                    "openid": c.get("openid") or "",
                    "content": c.get("content") or "",
                    "create_time": created,
                    "comment_type": int(c.get("comment_type") or 0),
                    "had_reply": 1 if c.get("reply") else 0,
                    "received_at": now,
                    "state": state,
                }
            )
        with self.transaction() as db:
            # one statement text for the whole page, built once at import (insert_all read the
            # schema on every call); both drivers prepare a statement they see again and again
            inserted = sum(max(0, db.execute(_INSERT_COMMENT, [r[c] for c in _COMMENT_COLUMNS])
                                  .rowcount) for r in rows)
            db.execute(
                "update articles set cursor = case when cursor > ? then cursor else ? end,"
                " last_polled_at = ?, next_poll_at = ?,"
                " polls = polls + 1, active = ?,"
                " last_new_at = case when ? > 0 then ? else last_new_at end,"
                " last_full_scan_at = case when ? = 1 then ? else last_full_scan_at end where id = ?",
                [
                    new_cursor,
                    new_cursor,
                    now,
                    iso(next_poll_at),
                    1 if active else 0,
                    inserted,
                    now,
                    1 if full_scan else 0,
                    now,
                    article["id"],
                ],
            )
        return int(inserted)

    def pending_comments(self, limit: int = 200) -> list[dict[str, Any]]:
        return self.query(
            "select c.*, a.title as article_title from comments c "
            "join articles a on a.id = c.article_id "
            "where c.state = 'new' order by c.received_at, c.create_time, c.user_comment_id limit ?",
            [limit],
        )

    def comment(self, comment_id: str) -> dict[str, Any] | None:
        rows = self.query("select * from comments where id = ?", [comment_id])
        return rows[0] if rows else None

    def writer_history(
        self, account: str, openid: str | None, before_comment: str
    ) -> tuple[int, int | None, datetime | None, str | None]:
        """(previous comments, open case id, last public reply time, open case route)."""
        if not openid:
            return 0, None, None, None
        prev = self.query(
            "select count(*) as n from comments where account = ? and openid = ? and id != ? "
            "and state != 'new'",
            [account, openid, before_comment],
        )[0]["n"]
        case = self.query(
            "select id, route from cases where account = ? and openid = ? and status in "
            "('awaiting_contact','contact_received','handed_off','review') order by id desc limit 1",
            [account, openid],
        )
        last = self.query(
            # writer-first: the writer's few comments (by index), then their outbox rows by
            # index, never every reply ever sent. Without ANALYZE statistics SQLite's planner
            # otherwise walks idx_outbox_kind_created_at for max(created_at) — every reply,
            # once per comment (quadratic). CROSS JOIN fixes SQLite's loop order; PostgreSQL
            # reads it as an inner join and plans it with its own statistics.
            "select max(o.created_at) as at from comments c cross join outbox o "
            "where o.comment_id = c.id and c.account = ? and c.openid = ? "
            "and o.kind = 'reply' and o.status in ('pending','inflight','sent')",
            [account, openid],
        )[0]["at"]
        return (
            int(prev),
            case[0]["id"] if case else None,
            parse_iso(last) if last else None,
            (case[0]["route"] or None) if case else None,
        )

    def replies_on_article_since(
        self, account: str, msg_data_id: str, index: int, since: datetime
    ) -> int:
        rows = self.query(
            "SELECT count(*) AS n FROM outbox WHERE article_id = ? AND kind = 'reply' "
            "AND created_at >= ? AND status IN ('pending','inflight','sent')",
            [article_key(account, msg_data_id, index), iso(since)],
        )
        return int(rows[0]["n"])

    # -- outbox ---------------------------------------------------------------------------
    def due_outbox(
        self, now: datetime, limit: int = 50, kinds: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Rows due now, oldest first; only ``kinds`` (e.g. the replies' lane) when given."""
        where, params = "", [iso(now)]
        if kinds:
            where = f" and kind in ({', '.join('?' for _ in kinds)})"
            params += list(kinds)
        return self.query(
            "select * from outbox where status in ('pending','inflight') and next_attempt_at <= ?"
            f"{where} order by id limit ?",
            [*params, limit],
        )

    def outbox_update(self, row_id: int, **fields: Any) -> None:
        sets = ", ".join(f'"{k}" = ?' for k in fields)
        with self.transaction() as db:
            db.execute(f"update outbox set {sets} where id = ?", [*fields.values(), row_id])

    # -- retention ------------------------------------------------------------------------
    def prune(self, older_than: timedelta) -> int:
        """Delete old comments (and traces) of articles no longer polled that have no case.

        Only inactive articles are pruned, so a pruned comment can never be listed and
        processed again.
        """
        cutoff = iso(self.clock() - older_than)
        inactive = "article_id in (select id from articles where active = 0)"
        with self.transaction() as db:
            db.execute(
                "delete from traces where comment_id in (select id from comments where "
                "received_at < ? and id not in (select comment_id from cases) and state != 'new' "
                f"and {inactive})",
                [cutoff],
            )
            cur = db.execute(
                "delete from comments where received_at < ? and state != 'new' and id not in "
                "(select comment_id from cases) and id not in "
                "(select comment_id from outbox where status in ('pending','inflight')) "
                f"and {inactive}",
                [cutoff],
            )
            return int(cur.rowcount)


def store_error(exc: sqlite3.Error, what: str) -> StoreError:
    """The store's own error for a ``sqlite3.Error``: :class:`StoreBusy` when it may pass."""
    return sqlite_error(exc, what)


def dumps(value: Any) -> str:
    """JSON for storage: UTF-8 text, keys sorted."""
    return _dumps(value)


__all__ = ["MIGRATIONS", "Store", "StoreBusy", "StoreError", "Transaction", "article_key", "article_of",
           "comment_key", "dumps", "insert_row", "store_error"]
