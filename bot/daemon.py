"""The daemon: wires the store, the connectors, the classifier, the rules and the jobs together.

``Daemon(config).run_forever()`` is ``dianhua run``. ``tick()`` does one round of every job in
the foreground, for tests and the demo. SIGTERM/SIGINT stop scheduling, let the job in hand
finish, and exit cleanly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from loguru import logger

from bot.cases import CaseBook
from bot.clock import Clock, from_unix, utcnow
from bot.config import Config
from bot.errors import ApiError
from bot.metrics import Metrics
from bot.pipeline import Outcome, Pipeline, Predictor
from bot.poller import Poller
from bot.scheduler import Job, Scheduler
from bot.sender import Sender
from bot.store import Store

DISCOVER_PAGES = 5


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utcnow,
        model: Predictor | None = None,
        transport: httpx.BaseTransport | None = None,
        on_outcome: Callable[[Outcome, dict[str, Any]], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        from bot.rules import RulesHolder
        from connectors.wechat import WeChatClient
        from connectors.wecom import WeComWebhook

        self.config = config
        self.clock = clock
        self.store = Store(config.db, clock=clock)
        self.cases = CaseBook(self.store, config.cases)
        self.rules = RulesHolder(config.rules)
        self.model_error: str | None = None
        if model is None:
            from classifiers.fallback import load_or_fallback

            model, self.model_error = load_or_fallback(config.model)
        self.model = model
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.clients = {
            acc.name: WeChatClient(
                acc.appid, acc.secret, base_url=acc.base_url, transport=transport,
                use_stable_token=acc.use_stable_token, **extra,
            )
            for acc in config.accounts
        }
        self.hooks = {
            name: WeComWebhook(group.key, base_url=config.wecom_base_url, transport=transport,
                               **extra)
            for name, group in config.groups.items()
            if group.key
        }
        self._last_poll: dict[str, Any] = {}
        self.metrics = Metrics(self.store, self._poll_lag)
        self._user_outcome = on_outcome
        self.pipeline = Pipeline(
            self.store, self.model, lambda: self.rules.current, clock=clock,
            duty_group=config.cases.duty_group, on_outcome=self._on_outcome,
        )
        self.poller = Poller(
            self.store, self.clients.get, schedule=config.polling, clock=clock,
            on_poll=self._on_poll, on_error=self._on_api_error,
        )
        self.sender = Sender(
            self.store,
            wechat=self.clients.get,
            groups=self.hooks.get,
            clock=clock,
            replies_enabled=self._replies_enabled,
            max_attempts=config.sender_max_attempts,
            backoff_cap=config.sender_backoff_cap,
            on_sent=self._on_sent,
            on_error=self._on_api_error,
            case_url=self._case_url if config.web_base_url else None,
        )
        self._stop = threading.Event()
        self._scheduler: Scheduler | None = None
        self._server: Any = None
        self.started_at = clock()
        self.seed_articles()

    # -- jobs -----------------------------------------------------------------------------
    def seed_articles(self) -> None:
        for acc in self.config.accounts:
            for art in acc.articles:
                self.store.watch_article(acc.name, art.msg_data_id, art.index, title=art.title)

    def discover(self) -> int:
        """Find articles to watch through freepublish/batchget (and datacube, best effort)."""
        found = 0
        for acc in self.config.accounts:
            if not acc.discover:
                continue
            client = self.clients[acc.name]
            refs = []
            try:
                # newest first, 20 a page; the most recent 100 publications are plenty
                for offset in range(0, DISCOVER_PAGES * 20, 20):
                    page = client.published_articles(offset, 20)
                    refs.extend(page)
                    if not page:
                        break
            except ApiError as exc:
                logger.warning("article discovery for {} failed: {} (errcode {})", acc.name,
                               type(exc).__name__, exc.errcode)
                self._on_api_error({"account": acc.name}, exc)
            for ref in refs:
                published = from_unix(ref.published_at) if ref.published_at else None
                key = self.store.watch_article(acc.name, ref.msg_data_id, ref.index,
                                               title=ref.title, source=ref.source,
                                               published_at=published)
                found += 1
                logger.debug("watching {}", key)
        return found

    def poll(self) -> int:
        """Poll due articles, then process every new comment."""
        new = self.poller.poll_due()
        # Work through the backlog in batches, but let SIGTERM in between two batches.
        while not self._stop.is_set() and self.pipeline.process_pending():
            pass
        return new

    def send(self) -> int:
        return self.sender.drain()

    def check_deadlines(self) -> None:
        self.cases.check_deadlines(self.clock())

    def reload_rules(self) -> None:
        before = self.rules.current.version
        if self.rules.check():
            self.metrics.rules_reloads.labels("ok").inc()
            logger.info("rules reloaded: {} → {}", before, self.rules.current.version)
        elif self.rules.last_error and getattr(self, "_reported_error", None) != self.rules.last_error:
            self._reported_error = self.rules.last_error
            self.metrics.rules_reloads.labels("refused").inc()

    def purge(self) -> None:
        """Apply the retention policy ([retention]); logs one line with the counts."""
        from bot.retention import purge

        c = self.config
        purge(self.store, c.retention, now=self.clock(), session_idle_minutes=c.web_idle_minutes,
              session_absolute_hours=c.web_absolute_hours)

    def tick(self) -> None:
        """One round of every job, in the foreground."""
        self.reload_rules()
        self.poll()
        self.send()
        self.check_deadlines()

    # -- run ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the jobs (and the HTTP endpoints) in the background."""
        c = self.config
        self.discover()
        self._scheduler = Scheduler(
            [
                Job("poll", self.poll, c.tick_seconds),
                Job("send", self.send, c.tick_seconds),
                Job("rules", self.reload_rules, c.rules_reload_seconds),
                Job("deadlines", self.check_deadlines, c.deadline_check_seconds),
                Job("discover", self.discover, c.discover_minutes * 60, jitter=5),
                Job("purge", self.purge, c.retention.purge_every_minutes * 60, jitter=30),
            ]
        )
        self._scheduler.start()
        self.metrics.up.set(1)
        if self.model_error:
            self._tell_duty_about_fallback()
        if c.http_enabled:
            self._start_http()
        logger.info("dianhua running: {} account(s), database {}, rules {}",
                    len(self.clients), c.db, self.rules.current.version)

    def stop(self) -> None:
        self._stop.set()

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._server is not None:
            self._server.should_exit = True
        self.metrics.up.set(0)
        for client in self.clients.values():
            client.close()
        logger.info("dianhua stopped cleanly")

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Run until SIGTERM/SIGINT (or ``stop`` is set); the job in hand finishes first."""
        if stop is not None:
            self._stop = stop
        else:
            install_signal_handlers(self._stop)
        if self._stop.is_set():
            self.shutdown()
            return
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.shutdown()

    def _start_http(self) -> None:
        import uvicorn

        from bot.http import create_app

        app = create_app(self)
        config = uvicorn.Config(app, host=self.config.http_host, port=self.config.http_port,
                                log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        thread.start()

    # -- callbacks ------------------------------------------------------------------------
    def _tell_duty_about_fallback(self) -> None:
        """Once per start: the duty group learns the model is down (through the outbox)."""
        from bot.cases import enqueue
        from bot.clock import iso

        text = ("【系统告警】分类模型无法加载，dianhua 正以关键词兜底运行：含紧急关键词的留言一律"
                "转人工审核，不自动公开回复。请尽快恢复模型（dianhua train 或恢复模型文件）。")
        with self.store.transaction() as db:
            enqueue(db, key=f"system:model-fallback:{iso(self.started_at)}", comment_id="",
                    case_id=None, account="", kind="notify", rule="system",
                    params={"group": self.config.cases.duty_group, "template": text,
                            "text": text}, at=iso(self.clock()))

    def _case_url(self, case_id: int) -> str:
        return f"{self.config.web_base_url}/case/{case_id}"

    def _replies_enabled(self) -> bool:
        settings = getattr(self.rules.current, "settings", None)
        return bool(getattr(settings, "replies_enabled", True))

    def _on_outcome(self, outcome: Outcome, row: dict[str, Any]) -> None:
        self.metrics.classified.labels(outcome.prediction.band).inc()
        if self._user_outcome:
            self._user_outcome(outcome, row)

    def _on_poll(self, article: dict[str, Any], new: int) -> None:
        self._last_poll[article["account"]] = self.clock()
        if new:
            self.metrics.comments.inc(new)

    def _on_sent(self, row: dict[str, Any]) -> None:
        self.metrics.sent.labels(row["kind"]).inc()
        if row["kind"] == "reply":
            self.metrics.replies.inc()

    def _on_api_error(self, _where: dict[str, Any], exc: ApiError) -> None:
        self.metrics.api_errors.labels(str(exc.errcode if exc.errcode is not None else "network")).inc()

    def _poll_lag(self) -> dict[str, float]:
        """Per account: seconds since a poll last succeeded (0 while it watches no article)."""
        now = self.clock()
        watching = {r["account"] for r in self.store.query(
            "select distinct account from articles where active = 1")}
        return {
            name: (now - self._last_poll.get(name, self.started_at)).total_seconds()
            if name in watching else 0.0
            for name in self.clients
        }

    def health(self) -> dict[str, Any]:
        lag = self._poll_lag()
        worst = max(lag.values(), default=0.0)
        ok = worst < max(120.0, 2 * self.config.polling.slow_seconds)
        return {
            # unauthenticated: say *that* something is wrong, never the text or a path
            "status": "ok" if ok and not self.model_error else "degraded",
            "rules_version": self.rules.current.version,
            "rules_error": "rules invalid" if self.rules.last_error else None,
            "model": "keyword fallback (model unusable)" if self.model_error else "ok",
            "model_fallback": bool(self.model_error),
            "poll_lag_seconds": lag,
            "uptime_seconds": (self.clock() - self.started_at) / timedelta(seconds=1),
        }


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop``; install this first thing, before slow start-up work."""

    def _on_signal(signum: int, _frame: Any) -> None:
        logger.info("signal {} received: finishing the job in hand", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


__all__ = ["Daemon", "install_signal_handlers"]
