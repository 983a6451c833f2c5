"""What is new since last time, for which article, and when to look again.

Each watched article keeps a cursor: how many comments from the start of ``comment/list`` are
already stored. A poll re-reads one page before the cursor (the platform's order is not
documented and deletions shift offsets), pages to the end, stores the page(s) and advances the
cursor in the same transaction, so a crash never skips a comment and a comment seen twice is
stored once. When ``total`` shrinks below the cursor (deletions), or every ``rescan_minutes``
(the list's order is not documented, so a comment could appear before the cursor), the whole
list is read again.

The schedule adapts to age and activity: new articles and articles with fresh comments are
polled often, older ones less, and articles past ``stop_after_days`` are no longer polled.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from loguru import logger

from bot.clock import Clock, iso, parse_iso, utcnow
from bot.errors import ApiError, AuthError, NotFound, RateLimited
from bot.pauses import PauseBook, until_of
from bot.store import Store
from bot.store import articles as watched
from connectors.wechat.models import clean_text

PAGE = 49  # the platform rejects count >= 50 in some doc versions; 49 is always safe
QUOTA_ERRCODE = 45009  # the account's daily quota: probed while paused, not waited out


@dataclass(frozen=True)
class PollSchedule:
    fast_seconds: float = 10.0
    normal_seconds: float = 60.0
    slow_seconds: float = 300.0
    fast_for_hours: float = 6.0
    normal_for_hours: float = 48.0
    stop_after_days: float = 7.0
    active_minutes: float = 30.0  # fresh comments keep an article on the fast interval
    rescan_minutes: float = 30.0
    max_comment_age_hours: float = 72.0  # older comments seen for the first time are not acted on

    def interval(
        self, published_at: datetime, last_new_at: datetime | None, now: datetime
    ) -> float | None:
        """Seconds until the next poll, or None to stop polling."""
        age = now - published_at
        if age > timedelta(days=self.stop_after_days):
            return None
        if last_new_at is not None and now - last_new_at < timedelta(minutes=self.active_minutes):
            return self.fast_seconds
        if age < timedelta(hours=self.fast_for_hours):
            return self.fast_seconds
        if age < timedelta(hours=self.normal_for_hours):
            return self.normal_seconds
        return self.slow_seconds


class CommentLister(Protocol):
    def list_comments(
        self, msg_data_id: int | str, index: int = 0, begin: int = 0, count: int = 49, type: int = 0
    ) -> Any: ...


class Poller:
    def __init__(
        self,
        store: Store,
        clients: Callable[[str], CommentLister | None],
        *,
        schedule: PollSchedule | None = None,
        clock: Clock = utcnow,
        on_poll: Callable[[dict[str, Any], int], None] | None = None,
        on_error: Callable[[dict[str, Any], ApiError], None] | None = None,
        max_pages: int = 200,
        probe_seconds: float = 300.0,
        on_pause: Callable[[str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.store = store
        self.pauses = PauseBook(store)
        self.probe_seconds = probe_seconds
        self.on_pause = on_pause  # (account, "paused" | "resumed", details): tell the duty group
        self.max_pages = max_pages
        self.clients = clients
        self.schedule = schedule or PollSchedule()
        self.clock = clock
        self.on_poll = on_poll
        self.on_error = on_error
        self._failures: dict[str, int] = {}
        self._paused_cache: set[str] | None = None  # accounts with a pause row, this round

    def poll_due(self, limit: int = 50) -> int:
        """Poll every article that is due. Returns the number of new comments stored.

        Articles of a paused account are left out of the query (they must not take the places
        of the other accounts' articles); a quota pause is probed every ``probe_seconds``.
        """
        now = self.clock()
        rows = self.pauses.all()
        self._paused_cache = set(rows)
        held = self._held_accounts(rows, now)
        total = 0
        for article in self.store.due_articles(now, limit, skip_accounts=held):
            total += self.poll_article(article)
        return total

    def pauses_report(self) -> dict[str, dict[str, Any]]:
        return self.pauses.report()

    def _held_accounts(self, rows: dict[str, dict[str, Any]], now: datetime) -> list[str]:
        held = []
        for account, row in rows.items():
            if now >= until_of(row):
                continue  # polls may try again; the pause is lifted by the next good poll
            if row["errcode"] == QUOTA_ERRCODE and now >= parse_iso(row["next_probe_at"]):
                answer = self._probe(account)
                if answer is not None:
                    self._resume(account, answer)
                    continue
                self.pauses.probe_later(account, now + timedelta(seconds=self.probe_seconds))
            held.append(account)
        return held

    def _probe(self, account: str) -> str | None:
        """Ask the platform whether ``account`` may call comment/list again; the reason if so."""
        client = self.clients(account)
        if client is None:
            return None
        try:
            quota = getattr(client, "quota_remaining", None)
            if callable(quota):
                remain = int(quota("/cgi-bin/comment/list"))
                if remain <= 0:
                    logger.info("account {}: still no comment/list quota (probe); next probe in "
                                "{:.0f} min", account, self.probe_seconds / 60)
                    return None
                return f"openapi/quota/get: {remain} calls left today"
            a = watched.first_active(self.store, account)
            if a is not None:  # one cheap call instead: a single comment
                client.list_comments(a["msg_data_id"], int(a["idx"]), 0, 1, 0)
            return "comment/list answers again"
        except ApiError as exc:
            logger.info("account {}: quota probe answered {} (errcode {}); next probe in {:.0f} "
                        "min", account, type(exc).__name__, exc.errcode, self.probe_seconds / 60)
            return None

    def _resume(self, account: str, why: str) -> None:
        if self._paused_cache is not None:
            self._paused_cache.discard(account)
        lifted = self.pauses.resume(account)
        if lifted is not None:
            logger.warning("account {}: polling resumed ({})", account, why)
            if self.on_pause and lifted["announced"]:
                self.on_pause(account, "resumed", {"why": why})

    def poll_article(self, article: dict[str, Any]) -> int:
        client = self.clients(article["account"])
        if client is None:
            logger.error("no client for account {}", article["account"])
            return 0
        now = self.clock()
        last_full = article.get("last_full_scan_at")
        full = not last_full or now - parse_iso(last_full) >= timedelta(
            minutes=self.schedule.rescan_minutes
        )
        begin = 0 if full else max(0, int(article["cursor"]) - PAGE)
        comments: list[dict[str, Any]] = []
        seen: set[int] = set()
        try:
            for _ in range(self.max_pages):
                page = client.list_comments(
                    article["msg_data_id"], int(article["idx"]), begin, PAGE, 0
                )
                items = list(page.comments)[:PAGE]  # a page longer than asked for is cut
                fresh = {_comment_id(c) for c in items} - seen
                if items and not fresh:
                    logger.warning("article {}: the platform repeated a page at offset {}; "
                                   "stopping this poll there", article["id"], begin)
                    break
                seen |= fresh
                if begin > 0 and not items and int(page.total or 0) < begin:
                    begin, full = 0, True  # the list shrank under our cursor: read it all
                    continue
                comments.extend(_as_dict(c) for c in items)
                begin += len(items)
                if len(items) < PAGE:
                    break
            else:
                logger.warning("article {}: more than {} pages in one poll; the rest next time",
                               article["id"], self.max_pages)
        except NotFound as exc:
            logger.warning(
                "article {} no longer exists (errcode {}); stopped watching it",
                article["id"],
                exc.errcode,
            )
            self.store.store_comments(
                article, [], new_cursor=int(article["cursor"]), next_poll_at=now, active=False
            )
            self._report(article, exc)
            return 0
        except ApiError as exc:
            self._backoff(article, exc, now)
            self._report(article, exc)
            return 0
        self._failures.pop(article["id"], None)
        if article["account"] in self._paused_after_error():
            self._resume(article["account"], "a poll succeeded")
        published = parse_iso(article["published_at"]) if article["published_at"] else now
        last_new = parse_iso(article["last_new_at"]) if article["last_new_at"] else None
        interval = self.schedule.interval(published, last_new, now)
        new = self.store.store_comments(
            article,
            comments,
            new_cursor=begin,
            next_poll_at=now + timedelta(seconds=interval or 0),
            active=interval is not None,
            skip_before=now - timedelta(hours=self.schedule.max_comment_age_hours),
            full_scan=full,
        )
        if interval is None:
            logger.info(
                "article {} is older than {} days; polling stopped",
                article["id"],
                self.schedule.stop_after_days,
            )
        if self.on_poll:
            self.on_poll(article, new)
        return new

    def _paused_after_error(self) -> set[str]:
        if self._paused_cache is not None:
            return self._paused_cache
        return set(self.pauses.all())

    def _pause(self, account: str, exc: ApiError, reason: str, until: datetime,
               now: datetime) -> None:
        probe = now + timedelta(seconds=self.probe_seconds)
        # the duty group hears of pauses that stop watching for real: the daily quota, refused
        # credentials, any pause longer than one probe interval (not a per-minute throttle)
        announce = self.on_pause is not None and (
            exc.errcode == QUOTA_ERRCODE or isinstance(exc, AuthError)
            or until - now > timedelta(seconds=self.probe_seconds))
        new = self.pauses.pause(account, reason=reason, errcode=exc.errcode, until=until,
                                next_probe_at=min(probe, until), announced=announce)
        if self._paused_cache is not None:
            self._paused_cache.add(account)
        if new and announce and self.on_pause:
            self.on_pause(account, "paused", {"reason": reason, "until": until,
                                              "probe_minutes": self.probe_seconds / 60,
                                              "probing": exc.errcode == QUOTA_ERRCODE})

    def _backoff(self, article: dict[str, Any], exc: ApiError, now: datetime) -> None:
        if isinstance(exc, RateLimited):
            until = now + timedelta(seconds=max(1.0, exc.retry_after))
            quota = exc.errcode == QUOTA_ERRCODE
            logger.warning(
                "account {} rate limited (errcode {}); pausing polls until {}{}",
                article["account"],
                exc.errcode,
                until.isoformat(timespec="seconds"),
                f", asking openapi/quota/get every {self.probe_seconds / 60:.0f} min"
                if quota else "",
            )
            reason = ("daily API quota used up (errcode 45009)" if quota
                      else f"rate limited (errcode {exc.errcode})")
            self._pause(article["account"], exc, reason, until, now)
            return
        if isinstance(exc, AuthError):
            until = now + timedelta(minutes=5)
            logger.error(
                "account {}: the platform refused our credentials (errcode {}); "
                "check appid/secret/IP whitelist. Retrying in 5 minutes.",
                article["account"],
                exc.errcode,
            )
            self._pause(article["account"], exc,
                        f"credentials refused (errcode {exc.errcode})", until, now)
            return
        n = self._failures.get(article["id"], 0) + 1
        self._failures[article["id"]] = n
        delay = min(300.0, 2.0**n) * random.uniform(0.8, 1.2)
        logger.warning(
            "polling {} failed ({} errcode {}); retry in {:.0f}s",
            article["id"],
            type(exc).__name__,
            exc.errcode,
            delay,
        )
        watched.reschedule(self.store, article["id"], iso(now + timedelta(seconds=delay)))

    def _report(self, article: dict[str, Any], exc: ApiError) -> None:
        if self.on_error:
            self.on_error(article, exc)


def _comment_id(comment: Any) -> int:
    return int(comment["user_comment_id"] if isinstance(comment, dict) else comment.user_comment_id)


def _as_dict(comment: Any) -> dict[str, Any]:
    if isinstance(comment, dict):
        out = dict(comment)
        for key in ("content", "openid"):
            if isinstance(out.get(key), str):
                out[key] = clean_text(out[key])
        return out
    reply = getattr(comment, "reply", None)
    return {
        "user_comment_id": comment.user_comment_id,
        "openid": clean_text(comment.openid) if comment.openid else comment.openid,
        "content": clean_text(comment.content or ""),
        "create_time": comment.create_time,
        "comment_type": getattr(comment, "comment_type", 0),
        "reply": {"content": reply.content, "create_time": reply.create_time} if reply else None,
    }


__all__ = ["PAGE", "PollSchedule", "Poller"]
