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
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.clock import Clock, iso, parse_iso, utcnow
from bot.errors import StoreBusy, StoreError
from bot.files import private_dir, private_file

MIGRATIONS = Migrations("dianhua")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.table("articles").create(
        {
            "id": str,  # account:msg_data_id:index
            "account": str,
            "msg_data_id": str,
            "idx": int,
            "title": str,
            "source": str,
            "published_at": str,
            "added_at": str,
            "cursor": int,  # comments already stored from the start of the list
            "last_polled_at": str,
            "next_poll_at": str,
            "last_new_at": str,
            "active": int,
            "polls": int,
        },
        pk="id",
        not_null={"account", "msg_data_id", "idx"},
        defaults={"cursor": 0, "active": 1, "polls": 0, "title": "", "source": "config"},
    )
    db.table("comments").create(
        {
            "id": str,  # account:msg_data_id:index:user_comment_id
            "account": str,
            "article_id": str,
            "msg_data_id": str,
            "idx": int,
            "user_comment_id": int,
            "openid": str,
            "content": str,
            "create_time": int,
            "comment_type": int,
            "had_reply": int,
            "received_at": str,
            "state": str,  # new | processed | skipped
        },
        pk="id",
        defaults={"state": "new", "had_reply": 0, "comment_type": 0},
    )
    db.table("comments").create_index(["state"])
    db.table("comments").create_index(["account", "openid"])
    db.table("classifications").create(
        {
            "comment_id": str,
            "score": float,
            "band": str,
            "category": str,
            "category_score": float,
            "top_terms": str,  # JSON
            "model_version": str,
            "rules_version": str,
            "matched_rules": str,  # JSON
            "route": str,
            "tags": str,  # JSON
            "shadow_actions": str,  # JSON
            "processed_at": str,
        },
        pk="comment_id",
    )
    db.table("traces").create(
        {
            "comment_id": str,
            "position": int,
            "rule": str,
            "conditions": str,  # JSON [[name, bool], ...]
            "matched": int,
            "shadow": int,
            "suppressed": str,  # JSON
        },
        pk=("comment_id", "position"),
    )
    db.table("outbox").create(
        {
            "id": int,
            "key": str,  # comment_id:position:kind — unique
            "comment_id": str,
            "case_id": int,
            "account": str,
            "kind": str,  # reply | notify | feature | unfeature
            "rule": str,
            "params": str,  # JSON
            "status": str,  # pending | inflight | sent | failed (gave up) | skipped
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        defaults={"status": "pending", "attempts": 0},
    )
    db.table("outbox").create_index(["key"], unique=True)
    db.table("outbox").create_index(["status", "next_attempt_at"])
    db.table("cases").create(
        {
            "id": int,
            "comment_id": str,  # the comment that opened it
            "account": str,
            "openid": str,
            "article_id": str,
            "status": str,
            "priority": str,
            "queue": str,
            "route": str,
            "contact_phone": str,  # extracted; shown only to the people who call back
            "contact_id": str,
            "assignee": str,
            "opened_at": str,
            "updated_at": str,
            "first_reply_at": str,
            "contact_at": str,
            "handed_off_at": str,
            "resolved_at": str,
            "outcome": str,
        },
        pk="id",
        defaults={"queue": "", "route": "", "assignee": "", "contact_phone": "", "contact_id": ""},
    )
    db.table("cases").create_index(["comment_id"], unique=True)
    db.table("cases").create_index(["account", "openid", "status"])
    db.table("case_events").create(
        {
            "id": int,
            "case_id": int,
            "at": str,
            "actor": str,
            "kind": str,  # opened | status | note | assign | attach | notify | deadline
            "from_status": str,
            "to_status": str,
            "note": str,
            "comment_id": str,
        },
        pk="id",
        foreign_keys=[("case_id", "cases", "id")],
    )
    db.table("case_events").create_index(["case_id"])
    db.table("breaches").create(
        {"case_id": int, "deadline": str, "due_at": str, "recorded_at": str},
        pk=("case_id", "deadline"),
    )
    db.table("labels").create(
        {"comment_id": str, "urgent": int, "category": str, "editor": str, "at": str},
        pk="comment_id",
    )
    db.table("meta").create({"key": str, "value": str}, pk="key")


@MIGRATIONS()
def m002_users(db: Database) -> None:
    """Editors who sign in to the desk (password hashes only)."""
    db.table("users").create(
        {"name": str, "password_hash": str, "created_at": str, "failed_logins": int,
         "locked_until": str},
        pk="name",
        defaults={"failed_logins": 0},
    )


@MIGRATIONS()
def m003_full_scans(db: Database) -> None:
    """When each article's comment list was last read from the start."""
    db.table("articles").add_column("last_full_scan_at", str)


@MIGRATIONS()
def m004_hot_path_indexes(db: Database) -> None:
    """Indexes for the questions asked once per comment (writer history, reply limits)."""
    db.table("outbox").create_index(["comment_id"], if_not_exists=True)
    db.table("outbox").create_index(["kind", "created_at"], if_not_exists=True)
    db.table("comments").create_index(["article_id"], if_not_exists=True)


@MIGRATIONS()
def m005_account_pauses(db: Database) -> None:
    """Accounts whose polls are paused (daily quota, refused credentials), durable and shared
    with `dianhua accounts` and the desk."""
    db.table("account_pauses").create(
        {
            "account": str,
            "reason": str,
            "errcode": int,
            "paused_at": str,
            "until": str,  # the latest time polls resume by themselves
            "next_probe_at": str,  # when to ask the platform whether it answers again
            "probes": int,
            "announced": int,  # the duty group was told (and is told again on resume)
        },
        pk="account",
        defaults={"probes": 0, "announced": 0},
        if_not_exists=True,
    )


@MIGRATIONS()
def m007_sessions_roles_throttle(db: Database) -> None:
    """Issue 17: server-side desk sessions, sign-in back-off, roles and departments."""
    db.table("sessions").create(
        {"id_hash": str, "user": str, "created_at": str, "last_seen_at": str, "address": str},
        pk="id_hash",
    )
    db.table("sessions").create_index(["user"])
    db.table("login_throttle").create(
        {"key": str, "failures": int, "blocked_until": str, "updated_at": str},
        pk="key",
        defaults={"failures": 0},
    )
    users = db.table("users")
    users.add_column("role", str, not_null_default="editor")
    users.add_column("departments", str, not_null_default="")  # comma-separated group names
    users.add_column("accounts", str, not_null_default="")  # comma-separated account names
    db.table("comments").create_index(["received_at"], if_not_exists=True)
    db.table("cases").create_index(["resolved_at"], if_not_exists=True)


@MIGRATIONS()
def m006_case_events_by_comment(db: Database) -> None:
    """The desk's stream shows which case a follow-up was attached to."""
    db.table("case_events").create_index(["comment_id"], if_not_exists=True)


@MIGRATIONS()
def m008_analysts_loop(db: Database) -> None:
    """Every editor's mark kept (conflicts stay visible), and a candidate model's shadow scores."""
    db.table("label_history").create(
        {"id": int, "comment_id": str, "urgent": int, "category": str, "editor": str,
         "at": str, "kind": str},  # kind: urgent | category
        pk="id",
    )
    db.table("label_history").create_index(["comment_id"])
    db.execute(
        "insert into label_history (comment_id, urgent, category, editor, at, kind) "
        "select comment_id, urgent, category, editor, at, 'urgent' from labels"
    )
    db.table("shadow_scores").create(
        {"comment_id": str, "model_version": str, "score": float, "band": str, "category": str,
         "live_version": str, "live_score": float, "live_band": str, "at": str},
        pk=("comment_id", "model_version"),
    )
    db.table("shadow_scores").create_index(["model_version", "at"])


@MIGRATIONS()
def m009_case_reason(db: Database) -> None:
    """Why the bot opened a case, in words for editors (e.g. "安全网：产妇 + 住院 + 等着")."""
    if "reason" not in db.table("cases").columns_dict:
        db.table("cases").add_column("reason", str, not_null_default="")


@MIGRATIONS()
def m011_private_messages(db: Database) -> None:
    """Readers' private messages (pushed by the platform) and the channel of each comment row."""
    db.table("comments").add_column("channel", str, not_null_default="comment")
    db.table("messages").create(
        {
            "id": str,  # account:MsgId (events: account:event:openid:create_time)
            "account": str,
            "openid": str,
            "msg_type": str,
            "create_time": int,  # the platform's time (the 48-hour window counts from it)
            "received_at": str,
            "comment_id": str,  # the comments row of a text message (channel 'message')
        },
        pk="id",
    )
    db.table("messages").create_index(["account", "openid", "create_time"])


@MIGRATIONS()
def m012_alerts(db: Database) -> None:
    """Spike alerts raised by the spikes: section of rules.yaml, one row per spike (unique key)."""
    if "alerts" in db.table_names():
        return
    db.table("alerts").create(
        {"id": int, "key": str, "rule": str, "per": str, "scope": str, "grp": str, "count": int,
         "baseline": float, "at": str, "window_start": str, "comment_ids": str, "text": str,
         "account": str},
        pk="id",
        defaults={"account": ""},
    )
    db.table("alerts").create_index(["key"], unique=True)
    db.table("alerts").create_index(["rule", "scope", "at"])


@MIGRATIONS()
def m012b_comment_time_index(db: Database) -> None:
    """Comments by platform time: the spike job (every minute) and reports read them by period."""
    db.table("comments").create_index(["create_time"], if_not_exists=True)


@MIGRATIONS()
def m015_outbox_article(db: Database) -> None:
    """Each outbox row names its comment's article, so the rules' per-article reply limit
    counts the article's recent replies by index (it joined every reply of the last hour with
    its comment: 37 ms a comment at 2,500 replies, the daemon's largest cost at 500/s)."""
    if "article_id" not in db.table("outbox").columns_dict:
        db.execute("ALTER TABLE outbox ADD COLUMN article_id TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE outbox SET article_id = coalesce((SELECT c.article_id FROM comments c "
               "WHERE c.id = outbox.comment_id), '') WHERE article_id = ''")
    db.table("outbox").create_index(["article_id", "kind", "created_at"], if_not_exists=True)


@MIGRATIONS()
def m015b_pending_order(db: Database) -> None:
    """The pipeline's next batch (state ``new``, oldest first) read from an index in order:
    without it every batch sorted the whole backlog (325 ms a batch with 57,000 new comments)."""
    db.table("comments").create_index(["state", "received_at", "create_time", "user_comment_id"],
                                      index_name="idx_comments_pending", if_not_exists=True)


def insert_row(db: Database, table: str, row: dict[str, Any], *, on_conflict: str = "") -> int:
    """A plain ``INSERT`` (``on_conflict`` = ``"ignore"`` or ``"replace"``); returns the rowid.

    The hot path uses this instead of ``Table.insert``, which inspects the schema on every call.
    Returns 0 when an ``ignore`` insert changed nothing.
    """
    cols = ", ".join(f"[{c}]" for c in row)
    marks = ", ".join("?" for _ in row)
    verb = f"INSERT OR {on_conflict.upper()}" if on_conflict else "INSERT"
    cur = db.conn.execute(f"{verb} INTO [{table}] ({cols}) VALUES ({marks})", list(row.values()))
    return int(cur.lastrowid or 0) if cur.rowcount else 0


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
    """A thread-safe handle on the SQLite file. One writer at a time, WAL for readers.

    Writes go through one connection, serialised by a lock; reads outside a transaction use a
    connection of their own per thread, so a reader (the desk) never waits behind a writer
    (the pipeline waiting out an analyst's lock). Every ``sqlite3.Error`` leaves this class as
    a :class:`StoreError` (``transient`` when waiting and trying again can help).

    ``must_exist`` refuses to create a missing file (read-only commands); ``create_dirs``
    creates missing parent folders (the daemon's default ``var/``); ``busy_timeout`` is how long
    a statement waits for another process's write lock before :class:`StoreBusy`.
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
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
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
            conn = self._connect()
            if not memory:
                conn.execute("PRAGMA journal_mode = WAL")
                for suffix in ("-wal", "-shm"):
                    private_file(self.path + suffix)
            self.db = Database(conn)
            with self._lock:
                MIGRATIONS.apply(self.db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=self.busy_timeout,
                               isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One atomic unit of work (``BEGIN IMMEDIATE`` … ``COMMIT``), serialised across threads.

        A ``sqlite3.Error`` anywhere in it (begin, body, commit) rolls back and becomes a
        :class:`StoreError`; other exceptions roll back and propagate unchanged.
        """
        with self._lock:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(exc, f"cannot start a transaction on {self.path}") from exc
            self._local.in_tx = True
            try:
                yield self.db
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise store_error(exc, f"a write to {self.path} failed") from exc
                raise
            finally:
                self._local.in_tx = False

    @contextmanager
    def savepoint(self, db: Database, name: str = "one") -> Iterator[Database]:
        """A nested unit inside :meth:`transaction`: its writes are undone alone when it raises.

        The pipeline writes a batch of comments in one transaction, one savepoint each, so a
        comment that fails by itself leaves the others' writes in place. A database error in it
        becomes a :class:`StoreError` (the whole transaction then rolls back); other exceptions
        undo the savepoint's writes and propagate unchanged.
        """
        conn = db.conn
        try:
            conn.execute(f"SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise store_error(exc, f"a write to {self.path} failed") from exc
        try:
            yield db
            conn.execute(f"RELEASE SAVEPOINT {name}")
        except BaseException as exc:
            try:
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            except sqlite3.Error as undo:
                raise store_error(undo, f"a write to {self.path} failed") from exc
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, f"a write to {self.path} failed") from exc
            raise

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Outside a transaction it reads on this thread's own connection."""
        try:
            if self.path == ":memory:" or getattr(self._local, "in_tx", False):
                with self._lock:
                    return list(self.db.query(sql, params))
            return list(self._reader().query(sql, params))
        except sqlite3.Error as exc:
            raise store_error(exc, f"a read from {self.path} failed") from exc

    def _reader(self) -> Database:
        """This thread's read connection (created on first use, closed by :meth:`close`)."""
        reader = getattr(self._local, "reader", None)
        if reader is None:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            conn = self._connect()
            reader = Database(conn)
            self._local.reader = reader
            with self._readers_lock:  # not the write lock: a reader never waits for a writer
                self._readers.append(conn)
        return reader

    def now(self) -> str:
        return iso(self.clock())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self.db.close()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("select value from meta where key = ?", [key])
        return rows[0]["value"] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.table("meta").upsert({"key": key, "value": value}, pk="key")

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
            db.table("articles").insert(
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
                pk="id",
                ignore=True,
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
            inserted = 0
            if rows:  # one prepared statement for the page (insert_all read the schema each time)
                cur = db.conn.executemany(_INSERT_COMMENT, [[r[c] for c in _COMMENT_COLUMNS]
                                                            for r in rows])
                inserted = max(0, cur.rowcount)
            db.execute(
                "update articles set cursor = max(cursor, ?), last_polled_at = ?, next_poll_at = ?,"
                " polls = polls + 1, active = ?,"
                " last_new_at = case when ? > 0 then ? else last_new_at end,"
                " last_full_scan_at = case when ? then ? else last_full_scan_at end where id = ?",
                [
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
            # CROSS JOIN keeps SQLite's plan writer-first: the writer's few comments, then
            # their outbox rows by index (not every reply ever sent)
            "select max(o.created_at) as at from comments c cross join outbox o "
            "on o.comment_id = c.id where c.account = ? and c.openid = ? "
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
        sets = ", ".join(f"[{k}] = ?" for k in fields)
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


_TRANSIENT = ("locked", "busy", "disk i/o", "disk is full", "database or disk is full",
              "unable to open", "readonly", "read-only", "interrupted", "out of memory")


def store_error(exc: sqlite3.Error, what: str) -> StoreError:
    """The store's own error for a ``sqlite3.Error``: :class:`StoreBusy` when it may pass."""
    text = str(exc)
    transient = isinstance(exc, sqlite3.OperationalError) and (
        any(word in text.lower() for word in _TRANSIENT)
        or (int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF) in _TRANSIENT_CODES
    )
    cls = StoreBusy if transient else StoreError
    return cls(f"{what}: {text}")


# SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_INTERRUPT, SQLITE_IOERR,
# SQLITE_FULL, SQLITE_CANTOPEN (primary codes; extended codes keep them in the low byte)
_TRANSIENT_CODES = {5, 6, 7, 8, 9, 10, 13, 14}


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (SQLite may already have rolled it back)."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def dumps(value: Any) -> str:
    """JSON for storage: UTF-8 text, keys sorted."""
    return _dumps(value)


__all__ = ["MIGRATIONS", "Store", "article_key", "article_of", "comment_key", "dumps", "insert_row",
           "store_error"]
