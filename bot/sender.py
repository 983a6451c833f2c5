"""Make what should happen actually happen, once: drain the outbox.

Each outbox row is one side effect (reply, notify, feature, unfeature). A row is marked
``inflight`` (committed) before the call and ``sent`` after it. A row found ``inflight`` after a
restart is ambiguous: for a reply the sender first looks at the comment on the platform and
treats an existing reply as sent; the platform itself refuses a second reply (88005), which is
also treated as sent. Notifications to department groups are at-least-once (a WeCom robot has no
way to ask what it already received): each carries the case number so a rare repeat is visible.

Several calls in flight: a drain hands its rows to ``concurrency`` threads (``[sender]
concurrency``), because a platform call mostly waits for the network (50–200 ms against the real
API), and one call at a time would cap a lane at a few replies a second. Rows of one comment stay
in one thread, in order (a reply before its feature). Each row is still handed to exactly one
thread, and the next drain starts only when this one has finished, so no row is performed twice.

Errors: transient ones and rate limits back off (capped exponential, or the platform's
``retry_after``); bad requests and missing targets are final (``failed`` / ``skipped``) and logged
with the reason. Nothing is retried forever: after ``max_attempts`` a row is ``failed``.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from loguru import logger

from bot import pii
from bot.cases import add_event, enqueue
from bot.clock import Clock, iso, utcnow
from bot.errors import (
    AlreadyReplied,
    ApiError,
    AuthError,
    BadRequest,
    NotFound,
    RateLimited,
)
from bot.rules.templates import render_template
from bot.store import Store, StoreError, claims, sending
from bot.store import cases as store_cases

if TYPE_CHECKING:
    from bot.config import Config

REPLY_MAX_CHARS = 600  # safe upper bound; the rules engine keeps templates much shorter
PUBLIC_LANE = ("reply", "message", "feature", "unfeature")  # the platform: what the reader sees
GROUP_LANE = ("notify",)  # WeCom group robots: slower, rate limited, retried
BATCH_MARKED = frozenset({"reply", "feature", "unfeature", "notify"})  # see _mark_inflight


class CommentAPI(Protocol):
    def reply_comment(
        self, msg_data_id: int | str, index: int, user_comment_id: int, content: str
    ) -> None: ...

    def markelect(self, msg_data_id: int | str, index: int, user_comment_id: int) -> None: ...

    def unmarkelect(self, msg_data_id: int | str, index: int, user_comment_id: int) -> None: ...

    def list_comments(
        self, msg_data_id: int | str, index: int = 0, begin: int = 0, count: int = 49, type: int = 0
    ) -> Any: ...


class GroupAPI(Protocol):
    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None: ...


class Sender:
    def __init__(
        self,
        store: Store,
        *,
        wechat: Callable[[str], CommentAPI | None],
        groups: Callable[[str], GroupAPI | None],
        clock: Clock = utcnow,
        replies_enabled: Callable[[], bool] = lambda: True,
        max_attempts: int = 12,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        render: Callable[[str, dict[str, str]], str] | None = None,
        duty_group: str = "duty",
        on_sent: Callable[[dict[str, Any]], None] | None = None,
        on_error: Callable[[dict[str, Any], ApiError], None] | None = None,
        case_url: Callable[[int], str] | None = None,
        replica: str | None = None,
        claim_seconds: float = 60.0,
        concurrency: int = 1,
    ) -> None:
        self.store = store
        self.concurrency = max(1, int(concurrency))
        self._pools: dict[tuple[str, ...], ThreadPoolExecutor] = {}
        self._pools_lock = threading.Lock()
        self._local = threading.local()  # .writes: the drain's list of deferred writes
        # replica mode: each row is claimed before it is performed (bot/store/claims.py)
        self.replica = replica
        self.claim_seconds = claim_seconds
        self.case_url = case_url
        self.wechat = wechat
        self.groups = groups
        self.clock = clock
        self.replies_enabled = replies_enabled
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._render = render or render_template  # the rules engine's one renderer
        self.duty_group = duty_group  # [cases] duty_group: where undeliverable alerts go
        self.on_sent = on_sent
        self.on_error = on_error

    @classmethod
    def from_config(cls, config: Config, store: Store, *, wechat: Callable[[str], CommentAPI | None],
                    groups: Callable[[str], GroupAPI | None], clock: Clock = utcnow,
                    replies_enabled: Callable[[], bool] = lambda: True,
                    on_sent: Callable[[dict[str, Any]], None] | None = None,
                    on_error: Callable[[dict[str, Any], ApiError], None] | None = None,
                    claim_as: str | None = None) -> Sender:
        """The daemon's sender (or the sender process's): ``[sender]``, ``[cases] duty_group``,
        ``[web] base_url`` for case links and ``[cluster]`` for claims, from ``config``.
        ``claim_as``: the claim holder's name when it is not the replica's id."""
        base = config.web_base_url
        return cls(
            store, wechat=wechat, groups=groups, clock=clock, replies_enabled=replies_enabled,
            max_attempts=config.sender_max_attempts, backoff_cap=config.sender_backoff_cap,
            duty_group=config.cases.duty_group, on_sent=on_sent, on_error=on_error,
            case_url=(lambda case_id: f"{base}/case/{case_id}") if base else None,
            replica=(claim_as or config.cluster.resolved_id()) if config.cluster is not None
            else None,
            claim_seconds=config.cluster.claim_seconds if config.cluster is not None else 60.0,
            concurrency=config.sender_concurrency,
        )

    def drain(self, limit: int = 100, kinds: tuple[str, ...] | None = None) -> int:
        """Perform every due outbox row (up to ``limit``). Returns how many were sent.

        ``kinds`` drains one lane only: the daemon runs :data:`PUBLIC_LANE` and
        :data:`GROUP_LANE` as two jobs, so a public reply never waits behind a slow group
        robot. Without ``kinds`` the public lane goes first.
        """
        return self._drain(limit, kinds)[0]

    def drain_all(self, kinds: tuple[str, ...], *, limit: int = 100,
                  stop: threading.Event | None = None, max_batches: int = 50) -> int:
        """Batch after batch while full batches come back: a burst is not held to ``limit``
        rows per tick. Stops at ``stop``, after ``max_batches``, or when a batch brings no row
        it has not already seen (a row left due must not make it spin)."""
        sent, seen = 0, set[int]()
        for _ in range(max_batches):
            done, ids = self._drain(limit, kinds)
            sent += done
            fresh = set(ids) - seen
            seen.update(ids)
            if len(ids) < limit or not fresh or (stop is not None and stop.is_set()):
                break
        return sent

    def close(self) -> None:
        """Let the threads of the lanes finish the row in hand, and end them."""
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True)

    def _drain(self, limit: int, kinds: tuple[str, ...] | None) -> tuple[int, list[int]]:
        if kinds is None:
            public = self._drain(limit, PUBLIC_LANE)
            group = self._drain(limit, GROUP_LANE)
            return public[0] + group[0], public[1] + group[1]
        perform: Callable[[dict[str, Any]], bool]
        if self.replica is not None:
            rows = claims.due_unclaimed(self.store, self.clock(), self.replica, limit, kinds)
            perform = self._send_claimed
        else:
            rows = self.store.due_outbox(self.clock(), limit, kinds)
            marked = self._mark_inflight(rows)
            perform = lambda row: self._send_one(row, marked=int(row["id"]) in marked)  # noqa: E731

        # Outcomes are written together after the batch's calls: one commit, not one per row
        # (the sender shares the database's write lock with the pipeline). Not with claims:
        # a claim is dropped after its row, and the row must be finished by then.
        writes: list[Callable[[], None]] | None = [] if self.replica is None else None

        def perform_all(group: list[dict[str, Any]]) -> int:
            self._local.writes = writes
            try:
                return sum(perform(row) for row in group)
            finally:
                self._local.writes = None

        ids = [int(row["id"]) for row in rows]
        groups = _by_comment(rows)
        sent, first_error = 0, None
        if self.concurrency == 1 or len(groups) == 1:
            try:
                sent = perform_all(rows)
            except Exception as exc:  # noqa: BLE001 - raised below, once written
                first_error = exc
        else:
            pool = self._pool(kinds)
            futures: list[Future[int]] = [pool.submit(perform_all, group) for group in groups]
            for future in futures:  # every row's outcome is recorded before the drain returns
                try:
                    sent += future.result()
                except Exception as exc:  # noqa: BLE001 - raised below, once all have finished
                    first_error = first_error or exc
        self._flush(writes or [])
        if first_error is not None:
            raise first_error
        return sent, ids

    def _write(self, write: Callable[[], None]) -> None:
        """Record an outcome: at the end of the drain when it batches them, else now."""
        batch = getattr(self._local, "writes", None)
        if batch is not None:
            batch.append(write)
            return
        with self.store.transaction():
            write()

    def _flush(self, writes: list[Callable[[], None]]) -> None:
        """The batch's outcomes in one transaction, one savepoint each: a write that fails by
        itself (a bug) is logged and leaves the others in place; its row stays ``inflight``
        and goes through the restart check. A database error rolls back all: every row of the
        batch stays ``inflight`` (replies are then looked up before they are posted again)."""
        if not writes:
            return
        with self.store.transaction() as db:
            for write in writes:
                try:
                    with self.store.savepoint(db):
                        write()
                except StoreError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one row's outcome, not the batch's
                    logger.opt(exception=exc).error("recording an outbox outcome failed: {}",
                                                    exc)

    def _mark_inflight(self, rows: list[dict[str, Any]]) -> set[int]:
        """Mark the batch ``inflight`` in one transaction rather than one each (the senders
        share the database's write lock with the pipeline). Not private messages: one found
        ``inflight`` after a restart is never resent (bot/private.py), so it is marked only
        right before its call."""
        ids = [int(row["id"]) for row in rows if row["kind"] in BATCH_MARKED]
        if ids:
            with self.store.transaction() as db:
                sending.mark_inflight(db, ids)
        return set(ids)

    def _pool(self, kinds: tuple[str, ...]) -> ThreadPoolExecutor:
        with self._pools_lock:
            pool = self._pools.get(kinds)
            if pool is None:
                name = "send-groups" if kinds == GROUP_LANE else "send-" + "-".join(kinds)[:20]
                pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=name)
                self._pools[kinds] = pool
            return pool

    def _send_claimed(self, due: dict[str, Any]) -> bool:
        """With several replicas: claim the row, perform it as claimed, drop the claim.

        The claimed row is read again, so a row another replica left ``inflight`` (it died
        mid-send) goes through the restart check below: a reply is looked up on the platform
        before it is posted again.
        """
        assert self.replica is not None
        row = claims.claim(self.store, int(due["id"]), self.replica, self.claim_seconds,
                           self.clock())
        if row is None:
            return False  # another replica has it, or it is done
        try:
            return self._send_one(row)
        finally:
            claims.unclaim(self.store, int(row["id"]), self.replica)

    # -------------------------------------------------------------------------------------
    def _send_one(self, row: dict[str, Any], *, marked: bool = False) -> bool:
        """Perform one row. ``marked``: the drain has already marked it ``inflight`` (and
        counted the attempt); ``row`` is as it was read, so a row left ``inflight`` by a crash
        still goes through the restart check."""
        comment = self.store.comment(row["comment_id"]) or {}
        params = json.loads(row["params"] or "{}")
        kind = row["kind"]
        if kind == "reply" and not self.replies_enabled():
            self._finish(row, "skipped", "public replies are switched off")
            return False
        client = self.wechat(row["account"]) if kind != "notify" else None
        if kind != "notify" and client is None:
            self._finish(row, "failed", f"no WeChat client for account {row['account']!r}")
            return False
        try:
            if (
                kind == "reply"
                and row["status"] == "inflight"
                and client is not None
                and self._already_replied(client, comment)
            ):
                self._finish(row, "sent", "reply found on the platform after a restart",
                             reply=True)
                return True
            if not marked:
                self.store.outbox_update(row["id"], status="inflight",
                                         attempts=row["attempts"] + 1)
            if kind == "reply":
                assert client is not None
                text = pii.mask(str(params.get("text") or ""))[:REPLY_MAX_CHARS]
                if not text.strip():
                    self._finish(row, "failed", "empty reply text")
                    return False
                try:
                    client.reply_comment(
                        comment["msg_data_id"],
                        int(comment["idx"]),
                        int(comment["user_comment_id"]),
                        text,
                    )
                except AlreadyReplied:
                    logger.info(
                        "comment {} already had a reply; recorded as sent", row["comment_id"]
                    )
                self._finish(row, "sent", reply=True)  # the row, the case, its event
            elif kind == "message":  # customer-service message: see bot/private.py
                from bot.private import deliver

                if not deliver(self, row, params, client):
                    return False
            elif kind in ("feature", "unfeature"):
                assert client is not None
                call = client.markelect if kind == "feature" else client.unmarkelect
                call(comment["msg_data_id"], int(comment["idx"]), int(comment["user_comment_id"]))
                self._finish(row, "sent")
            elif kind == "notify":
                group = str(params.get("group") or self.duty_group)
                hook = self.groups(group)
                if hook is None:
                    hook = self.groups(self.duty_group)
                    if hook is None:
                        self._finish(
                            row,
                            "failed",
                            f"no webhook configured for group {group!r} nor for the duty group",
                        )
                        return False
                markdown = getattr(hook, "send_markdown", None)
                if params.get("format") == "markdown" and markdown is not None:
                    markdown(pii.mask(str(params.get("text") or "")))  # the daily briefing
                else:
                    hook.send_text(self._notify_text(row, params, comment))
                self._finish(row, "sent", event=f"group {group} notified")
            else:
                self._finish(row, "failed", f"unknown action kind {kind!r}")
                return False
        except NotFound as exc:
            self._error(row, exc)
            self._finish(row, "skipped", f"{type(exc).__name__} (errcode {exc.errcode})")
            return False
        except BadRequest as exc:
            self._error(row, exc)
            self._finish(row, "failed", f"{type(exc).__name__} (errcode {exc.errcode})")
            return False
        except RateLimited as exc:
            self._error(row, exc)
            self._retry(row, exc, delay=max(1.0, exc.retry_after))
            return False
        except AuthError as exc:
            self._error(row, exc)
            self._retry(row, exc, delay=self.backoff_cap)
            return False
        except ApiError as exc:  # transient, protocol, token trouble after its one retry
            self._error(row, exc)
            self._retry(row, exc)
            return False
        if self.on_sent:
            self.on_sent(row)
        return True

    def _already_replied(self, client: CommentAPI, comment: dict[str, Any]) -> bool:
        """Look the comment up on the platform (page by page) and say whether it has a reply."""
        begin = 0
        while True:
            page = client.list_comments(comment["msg_data_id"], int(comment["idx"]), begin, 49, 0)
            items = list(getattr(page, "comments", []) or [])
            for item in items:
                if int(item.user_comment_id) == int(comment["user_comment_id"]):
                    return item.reply is not None
            if len(items) < 49:
                return False
            begin += len(items)

    def _notify_text(
        self, row: dict[str, Any], params: dict[str, Any], comment: dict[str, Any]
    ) -> str:
        template = str(params.get("template") or params.get("text") or "")
        case: dict[str, Any] = {}
        if row["case_id"]:
            case = store_cases.get_case(self.store, row["case_id"]) or {}
        phone = case.get("contact_phone") or ""
        id_number = case.get("contact_id") or ""
        if not params.get("full_number"):  # group robots are a third party: masked by default
            phone = pii.mask_phone(phone) if phone else ""
            id_number = pii.mask(id_number)
        link = self.case_url(int(row["case_id"])) if self.case_url and row["case_id"] else ""
        masked_comment = pii.mask(str(comment.get("content") or ""))[:200]
        variables = {
            **{str(k): str(v) for k, v in (params.get("variables") or {}).items()},
            "case_id": str(row["case_id"] or ""),
            "priority": str(case.get("priority") or ""),
            "route": str(case.get("route") or params.get("group") or ""),
            "phone": phone or "（尚未留电话）",
            "id_number": id_number,
            "case_url": link,
            "summary": masked_comment,
            "comment": masked_comment,
        }
        try:
            text = self._render(template, variables)
        except Exception:  # a template the engine accepted should render; never lose the alert
            text = str(params.get("text") or template)
        if not params.get("full_number"):
            text = pii.mask(text)
        if row["case_id"] and f"#{row['case_id']}" not in text:
            text += f"\n（案件 #{row['case_id']}）"
        if link and link not in text:
            text += f"\n详情：{link}"
        return text[:2000]

    def _finish(self, row: dict[str, Any], status: str, error: str = "", *,
                reply: bool = False, event: str = "") -> None:
        """The row's last status; with ``reply`` the case's first reply and its event, with
        ``event`` a note on the case: all in one write (see :meth:`_write`)."""
        fields: dict[str, Any] = {"status": status, "last_error": error}
        now = self.store.now()
        if status == "sent":
            fields["sent_at"] = now
        case_id = int(row["case_id"]) if row["case_id"] else None

        def write() -> None:
            with self.store.transaction() as db:
                sending.record_outcome(db, int(row["id"]), fields)
                if case_id is not None and reply:
                    sending.first_reply(db, case_id, now)
                    add_event(db, case_id, now, "bot", "reply", note="public reply posted")
                elif case_id is not None and event:
                    add_event(db, case_id, now, "bot", "notify", note=event)
                if status == "failed" and row["kind"] == "notify":
                    self._tell_duty(row, error)

        self._write(write)
        if error and status != "sent":
            logger.warning(
                "outbox {} ({} for {}) {}: {}",
                row["id"],
                row["kind"],
                row["comment_id"],
                status,
                error,
            )

    def _tell_duty(self, row: dict[str, Any], error: str) -> None:
        """A department was never told: queue the failure for the duty group (once per row).

        Not when the failed notification was itself for the duty group, or when the duty group
        has no robot either: then only /healthz, the log and the desk (群通知失败) can say it.
        """
        params = json.loads(row["params"] or "{}")
        group = str(params.get("group") or self.duty_group)
        if group == self.duty_group or self.groups(self.duty_group) is None:
            return
        case = f"案件 #{row['case_id']}" if row["case_id"] else "一条通知"
        text = (f"【群通知失败】{case}：通知「{group}」群失败（{error[:120]}），"
                "对方没有收到。请值班同事电话联系该部门，并检查该群的机器人配置。")
        with self.store.transaction() as db:
            enqueue(db, key=f"{row['key']}:failed", comment_id=row["comment_id"] or "",
                    case_id=row["case_id"], account=row["account"] or "", kind="notify",
                    rule="notify_failed",
                    params={"group": self.duty_group, "template": text, "text": text},
                    at=self.store.now())

    def _retry(self, row: dict[str, Any], exc: ApiError, delay: float | None = None) -> None:
        attempts = int(row["attempts"]) + 1
        if attempts >= self.max_attempts:
            self._finish(
                row,
                "failed",
                f"gave up after {attempts} attempts: {type(exc).__name__} (errcode {exc.errcode})",
            )
            return
        if delay is None:
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))
            delay *= random.uniform(0.8, 1.2)
        fields = {"status": "pending", "attempts": attempts,
                  "next_attempt_at": iso(self.clock() + timedelta(seconds=delay)),
                  "last_error": f"{type(exc).__name__} (errcode {exc.errcode})"}
        self._write(lambda: self.store.outbox_update(row["id"], **fields))

    def _error(self, row: dict[str, Any], exc: ApiError) -> None:
        logger.warning(
            "outbox {} {} for {}: {} errcode={}",
            row["id"],
            row["kind"],
            row["comment_id"],
            type(exc).__name__,
            exc.errcode,
        )
        if self.on_error:
            self.on_error(row, exc)


def _by_comment(rows: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by their comment (a row without one is a group of its own), in id order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = str(row["comment_id"] or f"#{row['id']}")
        groups.setdefault(key, []).append(row)
    return list(groups.values())


__all__ = ["GROUP_LANE", "PUBLIC_LANE", "Sender"]
