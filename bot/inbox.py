"""Store first, answer fast: readers' pushed messages go to SQLite before anything else.

The platform waits 5 seconds for an answer and retries a message three times in all. The push
endpoint therefore only checks the push and hands the message to :class:`Inbox`, which writes it
on one writer thread and waits for that write for at most ``budget`` seconds (4 by default,
counted on the injected clock from the moment the request arrived). Stored in time: the answer
is ``success``. Still writing (a slow database): the answer is ``success`` too, and the write
finishes in the background. A write that *fails* in time makes the endpoint answer 503, so the
platform tries again. Classification, rules and cases happen later, in the daemon's poll job,
exactly as for comments.

One text message becomes two rows written in one transaction: ``messages`` (every pushed
message, keyed by ``account:MsgId``, so the three retries store it once; it also dates the
48-hour window) and a ``comments`` row with ``channel = 'message'`` under the account's
private-message article (``<account>:message:0``, never polled) for the pipeline.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from loguru import logger

from bot.clock import Clock, iso, utcnow
from bot.errors import StoreError
from bot.store import Store, article_key, comment_key
from bot.store import messages as message_rows
from connectors.wechat.push import PushMessage

MESSAGE_ARTICLE = "message"  # msg_data_id of each account's private-message "article"
MESSAGE_TITLE = "私信"
MAX_CONTENT = 10_000
DEFAULT_BUDGET = 4.0  # seconds; the platform gives up after 5

Accepted = Literal["stored", "duplicate", "queued"]
WriteFn = Callable[[str, PushMessage, str], bool]
Waiter = Callable[["cf.Future[bool]", float], bool]


def message_key(account: str, msg: PushMessage) -> str:
    return f"{account}:{msg.dedupe_key}"


def record_message(store: Store, account: str, msg: PushMessage, received_at: str) -> bool:
    """Write one pushed message (idempotent). Returns False when it was already stored."""
    key = message_key(account, msg)
    message = {"id": key, "account": account, "openid": msg.from_user, "msg_type": msg.msg_type,
               "create_time": msg.create_time, "received_at": received_at, "comment_id": ""}
    if msg.msg_type != "text" or msg.msg_id is None:
        return message_rows.record(store, message)
    comment_id = comment_key(account, MESSAGE_ARTICLE, 0, msg.msg_id)
    art = article_key(account, MESSAGE_ARTICLE, 0)
    return message_rows.record(store, {**message, "comment_id": comment_id}, article={
        "id": art, "account": account, "msg_data_id": MESSAGE_ARTICLE, "idx": 0,
        "title": MESSAGE_TITLE, "source": "message", "published_at": received_at,
        "added_at": received_at, "cursor": 0, "next_poll_at": received_at,
        "active": 0, "polls": 0,
    }, comment={
        "id": comment_id, "account": account, "article_id": art,
        "msg_data_id": MESSAGE_ARTICLE, "idx": 0, "user_comment_id": msg.msg_id,
        "openid": msg.from_user, "content": msg.content[:MAX_CONTENT],
        "create_time": msg.create_time, "comment_type": 0, "had_reply": 0,
        "received_at": received_at, "state": "new", "channel": "message",
    })


def _wait(future: cf.Future[bool], timeout: float) -> bool:
    return future in cf.wait([future], timeout=timeout).done


class Inbox:
    """Accepts checked pushes; one writer thread; answers within ``budget`` seconds."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utcnow,
        write: WriteFn | None = None,
        wait: Waiter = _wait,
        budget: float = DEFAULT_BUDGET,
        max_pending: int = 10_000,
    ) -> None:
        self.clock = clock
        self.budget = budget
        self.max_pending = max_pending
        self._write: WriteFn = write or (lambda a, m, at: record_message(store, a, m, at))
        self._wait = wait
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox")
        self._pending: dict[str, cf.Future[bool]] = {}
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def accept(self, account: str, msg: PushMessage, *, started: datetime) -> Accepted:
        """Queue the write, wait for it within the budget. Raises :class:`StoreError` when the
        write failed in time or too many writes are waiting (the platform will retry)."""
        key = message_key(account, msg)
        with self._lock:
            if key in self._pending:
                return "duplicate"  # a retry while the first delivery is still being written
            if len(self._pending) >= self.max_pending:
                raise StoreError(f"{len(self._pending)} pushed messages are waiting to be stored")
            try:
                future = self._pool.submit(self._store, key, account, msg, iso(started))
            except RuntimeError as exc:  # shutting down: let the platform try again
                raise StoreError("the inbox is closed (dianhua is stopping)") from exc
            self._pending[key] = future
        left = self.budget - (self.clock() - started).total_seconds()
        if left > 0 and self._wait(future, left):
            return "stored" if future.result() else "duplicate"  # result() re-raises a failure
        logger.warning("pushed message {} not stored within {:g} s; answered success, the write "
                       "continues in the background", key, self.budget)
        return "queued"

    def _store(self, key: str, account: str, msg: PushMessage, at: str) -> bool:
        try:
            return self._write(account, msg, at)
        except Exception as exc:
            logger.opt(exception=exc).error("storing pushed message {} failed", key)
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"storing pushed message {key} failed: {type(exc).__name__}") from exc
        finally:
            with self._lock:
                self._pending.pop(key, None)

    def close(self, wait: bool = True) -> None:
        """Finish the writes in hand (``wait``) and stop the writer thread."""
        self._pool.shutdown(wait=wait)


__all__ = ["MESSAGE_ARTICLE", "MESSAGE_TITLE", "Inbox", "message_key", "record_message"]
