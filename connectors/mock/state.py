"""The mock platform's durable state: one SQLite file, safe to share between server threads.

Holds articles, comments (with reply, featured flag, deleted flag), access tokens, daily quota use,
received WeCom robot messages and customer-service messages. Platform-level refusals raise
:class:`MockApiError` (an errcode the server answers with HTTP 200); admin mistakes raise
:class:`AdminError` (answered with a 4xx).

``user_comment_id`` is numbered per article (1, 2, 3 ...) as on the real platform, so a comment is
identified by ``(msg_data_id, index, user_comment_id)``, never by its id alone.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.clock import SHANGHAI

FIRST_MSG_DATA_ID = 2247480001
MAX_ELECTED = 100  # the real limit (88003) is undocumented; invented here
MAX_REPLY_CHARS = 1200  # the real limit (88007) is undocumented; invented here
MAX_COMMENT_CHARS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    msg_data_id INTEGER NOT NULL, idx INTEGER NOT NULL, title TEXT NOT NULL,
    created_at INTEGER NOT NULL, comments_open INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (msg_data_id, idx));
CREATE TABLE IF NOT EXISTS comments (
    msg_data_id INTEGER NOT NULL, idx INTEGER NOT NULL, user_comment_id INTEGER NOT NULL,
    openid TEXT, content TEXT NOT NULL, create_time INTEGER NOT NULL,
    comment_type INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
    reply_content TEXT, reply_time INTEGER,
    PRIMARY KEY (msg_data_id, idx, user_comment_id));
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS quota (
    path TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (path, day));
CREATE TABLE IF NOT EXISTS webhook_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, msgtype TEXT,
    body TEXT NOT NULL, received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS custom_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, touser TEXT NOT NULL, msgtype TEXT,
    body TEXT NOT NULL, sent_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS user_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, openid TEXT NOT NULL, msg_type TEXT NOT NULL,
    content TEXT NOT NULL, create_time INTEGER NOT NULL, attempts TEXT NOT NULL DEFAULT '[]',
    delivered INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS user_messages_openid ON user_messages (openid, create_time);
"""
FIRST_MSG_ID = 23474120000000000  # MsgIds are 64-bit integers (notes §5.2)
WINDOW_SECONDS = 48 * 3600  # customer-service messages only within 48 h of the reader's message
PER_WINDOW = 5  # ... and at most 5 of them (45047 after that)


class MockApiError(Exception):
    """A platform refusal: answered as HTTP 200 ``{"errcode": code, "errmsg": "... rid: ..."}``."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"{errcode} {errmsg}")


class AdminError(Exception):
    """A mistake in an admin-API request: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def shanghai_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, SHANGHAI).date().isoformat()


class MockState:
    """All mock data behind one lock and one SQLite connection."""

    def __init__(self, db_path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.db_path = str(db_path)
        self.clock = clock
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ articles
    def add_article(self, title: str, msg_data_id: int | None = None,
                    created_at: int | None = None) -> tuple[int, int]:
        """A new article; with ``msg_data_id`` it becomes the next index of that send."""
        created = int(self.clock()) if created_at is None else int(created_at)
        with self._tx() as db:
            if msg_data_id is None:
                row = db.execute("SELECT MAX(msg_data_id) FROM articles").fetchone()
                msg_data_id = max(FIRST_MSG_DATA_ID, (row[0] or 0) + 1)
                index = 0
            else:
                row = db.execute("SELECT MAX(idx) FROM articles WHERE msg_data_id=?",
                                 (msg_data_id,)).fetchone()
                index = 0 if row[0] is None else row[0] + 1
            db.execute("INSERT INTO articles (msg_data_id, idx, title, created_at) VALUES (?,?,?,?)",
                       (msg_data_id, index, title, created))
        return msg_data_id, index

    def articles(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT a.*, (SELECT COUNT(*) FROM comments c WHERE c.msg_data_id=a.msg_data_id"
                " AND c.idx=a.idx) AS comments FROM articles a ORDER BY msg_data_id, idx").fetchall()
        return [{"msg_data_id": r["msg_data_id"], "index": r["idx"], "title": r["title"],
                 "created_at": r["created_at"], "comments_open": bool(r["comments_open"]),
                 "comments": r["comments"]} for r in rows]

    def find_article(self, title: str) -> tuple[int, int] | None:
        """The first article with exactly this title."""
        with self._lock:
            row = self._db.execute("SELECT msg_data_id, idx FROM articles WHERE title=?"
                                   " ORDER BY msg_data_id, idx LIMIT 1", (title,)).fetchone()
        return None if row is None else (row[0], row[1])

    def has_article(self, msg_data_id: int, index: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM articles WHERE msg_data_id=? AND idx=?",
                                    (msg_data_id, index)).fetchone() is not None

    def set_comments_open(self, msg_data_id: int, index: int, is_open: bool) -> None:
        with self._tx() as db:
            cur = db.execute("UPDATE articles SET comments_open=? WHERE msg_data_id=? AND idx=?",
                             (int(is_open), msg_data_id, index))
            if cur.rowcount == 0:
                raise MockApiError(88001, "msg_data is not exists")

    # ------------------------------------------------------------------ comments (admin side)
    def add_comment(self, msg_data_id: int, index: int, openid: str | None, content: str,
                    create_time: int | None = None) -> int:
        """A reader's comment, as if written in WeChat; returns its ``user_comment_id``."""
        if len(content) > MAX_COMMENT_CHARS:
            raise AdminError(400, f"content is longer than {MAX_COMMENT_CHARS} characters")
        created = int(self.clock()) if create_time is None else int(create_time)
        with self._tx() as db:
            art = db.execute("SELECT comments_open FROM articles WHERE msg_data_id=? AND idx=?",
                             (msg_data_id, index)).fetchone()
            if art is None:
                raise AdminError(404, f"no article msg_data_id={msg_data_id} index={index}")
            if not art[0]:
                raise AdminError(409, "comments are closed on this article (comment/close)")
            row = db.execute("SELECT MAX(user_comment_id) FROM comments WHERE msg_data_id=? AND idx=?",
                             (msg_data_id, index)).fetchone()
            cid = (row[0] or 0) + 1
            db.execute("INSERT INTO comments (msg_data_id, idx, user_comment_id, openid, content,"
                       " create_time) VALUES (?,?,?,?,?,?)",
                       (msg_data_id, index, cid, openid, content, created))
        return cid

    def all_comments(self, msg_data_id: int, index: int) -> list[dict[str, Any]]:
        """Every comment, deleted ones included, oldest first (admin view)."""
        with self._lock:
            if not self.has_article(msg_data_id, index):
                raise AdminError(404, f"no article msg_data_id={msg_data_id} index={index}")
            rows = self._db.execute("SELECT * FROM comments WHERE msg_data_id=? AND idx=?"
                                    " ORDER BY user_comment_id", (msg_data_id, index)).fetchall()
        return [{"msg_data_id": msg_data_id, "index": index,
                 "user_comment_id": r["user_comment_id"], "openid": r["openid"],
                 "create_time": r["create_time"], "content": r["content"],
                 "comment_type": r["comment_type"], "deleted": bool(r["deleted"]),
                 "reply": None if r["reply_content"] is None else
                 {"content": r["reply_content"], "create_time": r["reply_time"]}}
                for r in rows]

    # ------------------------------------------------------------------ comments (platform side)
    def list_comments(self, msg_data_id: int, index: int, begin: int, count: int,
                      type_: int) -> tuple[int, list[dict[str, Any]]]:
        """``comment/list``: total and one page, oldest first (real ordering is undocumented)."""
        where = "msg_data_id=? AND idx=? AND deleted=0"
        if type_ == 1:
            where += " AND comment_type=0"
        elif type_ == 2:
            where += " AND comment_type=1"
        with self._lock:
            self._require_article(msg_data_id, index)
            total = self._db.execute(f"SELECT COUNT(*) FROM comments WHERE {where}",
                                     (msg_data_id, index)).fetchone()[0]
            rows = self._db.execute(f"SELECT * FROM comments WHERE {where} ORDER BY user_comment_id"
                                    " LIMIT ? OFFSET ?", (msg_data_id, index, count, begin)).fetchall()
        return total, [_comment_json(r) for r in rows]

    def add_reply(self, msg_data_id: int, index: int, cid: int, content: str) -> None:
        if not content or len(content) > MAX_REPLY_CHARS:
            raise MockApiError(88007, "reply content beyond max len or content len is zero")
        with self._tx() as db:
            row = self._comment(db, msg_data_id, index, cid)
            if row["reply_content"] is not None:
                raise MockApiError(88005, "already reply")
            db.execute("UPDATE comments SET reply_content=?, reply_time=? WHERE msg_data_id=?"
                       " AND idx=? AND user_comment_id=?",
                       (content, int(self.clock()), msg_data_id, index, cid))

    def delete_reply(self, msg_data_id: int, index: int, cid: int) -> None:
        with self._tx() as db:
            row = self._comment(db, msg_data_id, index, cid)
            if row["reply_content"] is None:
                # 87009 (old doc) or 88009 (global list): unverified which; we answer 88009.
                raise MockApiError(88009, "reply is not exists")
            db.execute("UPDATE comments SET reply_content=NULL, reply_time=NULL WHERE"
                       " msg_data_id=? AND idx=? AND user_comment_id=?", (msg_data_id, index, cid))

    def set_elected(self, msg_data_id: int, index: int, cid: int, elected: bool) -> None:
        with self._tx() as db:
            self._comment(db, msg_data_id, index, cid)
            if elected:
                n = db.execute("SELECT COUNT(*) FROM comments WHERE msg_data_id=? AND idx=? AND"
                               " comment_type=1 AND deleted=0", (msg_data_id, index)).fetchone()[0]
                if n >= MAX_ELECTED:
                    raise MockApiError(88003, "elected comment upper limit")
            db.execute("UPDATE comments SET comment_type=? WHERE msg_data_id=? AND idx=? AND"
                       " user_comment_id=?", (int(elected), msg_data_id, index, cid))

    def delete_comment(self, msg_data_id: int, index: int, cid: int) -> None:
        with self._tx() as db:
            self._comment(db, msg_data_id, index, cid)
            db.execute("UPDATE comments SET deleted=1 WHERE msg_data_id=? AND idx=? AND"
                       " user_comment_id=?", (msg_data_id, index, cid))

    def _require_article(self, msg_data_id: int, index: int) -> None:
        if not self.has_article(msg_data_id, index):
            raise MockApiError(88001, "msg_data is not exists")

    def _comment(self, db: sqlite3.Connection, msg_data_id: int, index: int, cid: int) -> sqlite3.Row:
        self._require_article(msg_data_id, index)
        row = db.execute("SELECT * FROM comments WHERE msg_data_id=? AND idx=? AND user_comment_id=?"
                         " AND deleted=0", (msg_data_id, index, cid)).fetchone()
        if row is None:
            raise MockApiError(88008, "comment is not exists")
        assert isinstance(row, sqlite3.Row)
        return row

    # ------------------------------------------------------------------ discovery
    def summary_rows(self, begin: date, end: date) -> list[dict[str, Any]]:
        """datacube rows: one per article created (Asia/Shanghai) between begin and end."""
        rows = []
        for art in self.articles():
            day = datetime.fromtimestamp(art["created_at"], SHANGHAI).date()
            if begin <= day <= end:
                rows.append({"ref_date": day.isoformat(), "user_source": 0,
                             "msgid": f"{art['msg_data_id']}_{art['index'] + 1}",
                             "title": art["title"], "int_page_read_user": 0,
                             "int_page_read_count": 0, "ori_page_read_user": 0,
                             "ori_page_read_count": 0, "share_user": 0, "share_count": 0,
                             "add_to_fav_user": 0, "add_to_fav_count": 0})
        return rows

    def publish_groups(self) -> list[tuple[int, list[dict[str, Any]]]]:
        """Articles grouped by send, newest send first (freepublish/batchget order)."""
        groups: dict[int, list[dict[str, Any]]] = {}
        for art in self.articles():
            groups.setdefault(art["msg_data_id"], []).append(art)
        return sorted(groups.items(), key=lambda kv: -kv[0])

    # ------------------------------------------------------------------ tokens
    def issue_token(self, kind: str, ttl: float) -> tuple[str, float]:
        """A fresh token. A new ``/token`` token cuts older ones to a 5-minute overlap."""
        now = self.clock()
        token = "MOCK_" + secrets.token_urlsafe(96)
        with self._tx() as db:
            if kind == "token":
                db.execute("UPDATE tokens SET expires_at=MIN(expires_at, ?) WHERE kind='token'",
                           (now + 300,))
            elif kind == "stable":
                db.execute("UPDATE tokens SET expires_at=MIN(expires_at, ?) WHERE kind='stable'",
                           (now,))
            db.execute("DELETE FROM tokens WHERE expires_at < ?", (now - 86400,))
            db.execute("INSERT INTO tokens VALUES (?,?,?)", (token, kind, now + ttl))
        return token, ttl

    def stable_token(self, ttl: float, force: bool) -> tuple[str, float]:
        """``stable_token``: the same token while it has more than 5 minutes left."""
        now = self.clock()
        if not force:
            with self._lock:
                row = self._db.execute("SELECT token, expires_at FROM tokens WHERE kind='stable'"
                                       " ORDER BY expires_at DESC LIMIT 1").fetchone()
            if row is not None and row[1] - now > min(300.0, ttl / 2):
                return row[0], row[1] - now
        return self.issue_token("stable", ttl)

    def check_token(self, token: str | None) -> None:
        if not token:
            raise MockApiError(41001, "access_token missing")
        with self._lock:
            row = self._db.execute("SELECT expires_at FROM tokens WHERE token=?", (token,)).fetchone()
        if row is None:
            raise MockApiError(40001, "invalid credential, access_token is invalid or not latest")
        if row[0] <= self.clock():
            raise MockApiError(42001, "access_token expired")

    def expire_tokens(self) -> int:
        with self._tx() as db:
            return db.execute("UPDATE tokens SET expires_at=? WHERE expires_at > ?",
                              (self.clock(), self.clock())).rowcount

    # ------------------------------------------------------------------ quota
    def use_quota(self, path: str, limit: int | None) -> None:
        """Count one call of ``path`` today (Asia/Shanghai); 45009 once ``limit`` is used up."""
        day = shanghai_day(self.clock())
        with self._tx() as db:
            row = db.execute("SELECT used FROM quota WHERE path=? AND day=?", (path, day)).fetchone()
            used = 0 if row is None else row[0]
            if limit is not None and used >= limit:
                raise MockApiError(45009, "reach max api daily quota limit")
            db.execute("INSERT INTO quota VALUES (?,?,1) ON CONFLICT(path, day) DO UPDATE"
                       " SET used=used+1", (path, day))

    def quota_used(self, path: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT used FROM quota WHERE path=? AND day=?",
                                   (path, shanghai_day(self.clock()))).fetchone()
        return 0 if row is None else int(row[0])

    def clear_quota(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM quota")

    # ------------------------------------------------------------------ messages
    def store_webhook(self, key: str, body: dict[str, Any]) -> int:
        with self._tx() as db:
            cur = db.execute("INSERT INTO webhook_messages (key, msgtype, body, received_at)"
                             " VALUES (?,?,?,?)", (key, str(body.get("msgtype")),
                                                   json.dumps(body, ensure_ascii=False), self.clock()))
            return int(cur.lastrowid or 0)

    def webhook_messages(self, key: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM webhook_messages ORDER BY id").fetchall()
        return [{"id": r["id"], "key": r["key"], "msgtype": r["msgtype"],
                 "received_at": r["received_at"], "body": json.loads(r["body"])}
                for r in rows if key is None or r["key"] == key]

    def webhook_count_since(self, key: str, since: float) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM webhook_messages WHERE key=? AND"
                                        " received_at > ?", (key, since)).fetchone()[0])

    def store_custom(self, touser: str, msgtype: str, body: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO custom_messages (touser, msgtype, body, sent_at) VALUES (?,?,?,?)",
                       (touser, msgtype, json.dumps(body, ensure_ascii=False), self.clock()))

    # ------------------------------------------------------------------ readers' messages
    def add_user_message(self, openid: str, content: str, msg_type: str = "text",
                         create_time: int | None = None) -> int:
        """A reader's private message to the account; returns its MsgId."""
        created = int(self.clock()) if create_time is None else int(create_time)
        with self._tx() as db:
            cur = db.execute("INSERT INTO user_messages (openid, msg_type, content, create_time)"
                             " VALUES (?,?,?,?)", (openid, msg_type, content, created))
            return FIRST_MSG_ID + int(cur.lastrowid or 0)

    def user_message_time(self, msg_id: int) -> int:
        with self._lock:
            return int(self._db.execute("SELECT create_time FROM user_messages WHERE id=?",
                                        (msg_id - FIRST_MSG_ID,)).fetchone()[0])

    def record_delivery(self, msg_id: int, attempts: list[dict[str, Any]], delivered: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE user_messages SET attempts=?, delivered=? WHERE id=?",
                       (json.dumps(attempts, ensure_ascii=False), int(delivered),
                        msg_id - FIRST_MSG_ID))

    def user_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM user_messages ORDER BY id").fetchall()
        return [{"msg_id": FIRST_MSG_ID + r["id"], "openid": r["openid"], "msg_type": r["msg_type"],
                 "content": r["content"], "create_time": r["create_time"],
                 "delivered": bool(r["delivered"]), "attempts": json.loads(r["attempts"])}
                for r in rows]

    def check_window(self, touser: str) -> None:
        """45015 outside the 48-hour window after the reader's last message; 45047 after 5
        customer-service messages within it."""
        now = self.clock()
        with self._lock:
            last = self._db.execute("SELECT MAX(create_time) FROM user_messages WHERE openid=?",
                                    (touser,)).fetchone()[0]
            if last is None or now - last > WINDOW_SECONDS:
                raise MockApiError(45015, "response out of time limit or subscription is canceled")
            sent = self._db.execute("SELECT COUNT(*) FROM custom_messages WHERE touser=? AND "
                                    "sent_at >= ?", (touser, last)).fetchone()[0]
        if sent >= PER_WINDOW:
            raise MockApiError(45047, "out of response count limit")

    def custom_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM custom_messages ORDER BY id").fetchall()
        return [{"id": r["id"], "touser": r["touser"], "msgtype": r["msgtype"],
                 "sent_at": r["sent_at"], "body": json.loads(r["body"])} for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            q = self._db.execute
            return {
                "articles": q("SELECT COUNT(*) FROM articles").fetchone()[0],
                "comments": q("SELECT COUNT(*) FROM comments").fetchone()[0],
                "replies": q("SELECT COUNT(*) FROM comments WHERE reply_content IS NOT NULL").fetchone()[0],
                "featured": q("SELECT COUNT(*) FROM comments WHERE comment_type=1").fetchone()[0],
                "deleted": q("SELECT COUNT(*) FROM comments WHERE deleted=1").fetchone()[0],
                "webhook_messages": q("SELECT COUNT(*) FROM webhook_messages").fetchone()[0],
                "custom_messages": q("SELECT COUNT(*) FROM custom_messages").fetchone()[0],
                "user_messages": q("SELECT COUNT(*) FROM user_messages").fetchone()[0],
            }


def _comment_json(r: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"user_comment_id": r["user_comment_id"]}
    if r["openid"] is not None:  # omitted for non-WeChat identities, as on the real platform
        out["openid"] = r["openid"]
    out.update(create_time=r["create_time"], content=r["content"], comment_type=r["comment_type"])
    if r["reply_content"] is not None:
        out["reply"] = {"content": r["reply_content"], "create_time": r["reply_time"]}
    return out


__all__ = ["AdminError", "MockApiError", "MockState", "shanghai_day"]
