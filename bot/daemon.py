"""The daemon: wires the store, the connectors, the classifier, the rules and the jobs together.

``Daemon(config).run_forever()`` is ``dianhua run``. ``tick()`` does one round of every job in
the foreground, for tests and the demo. SIGTERM/SIGINT stop scheduling, let the job in hand
finish, and exit cleanly.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
from loguru import logger

from bot.cases import CaseBook, enqueue
from bot.clients import platform_clients
from bot.clock import SHANGHAI, Clock, from_unix, utcnow
from bot.cluster import Cluster
from bot.config import Config, store_target
from bot.errors import ApiError, DianhuaError
from bot.lease import DatabaseLease
from bot.metrics import Metrics
from bot.pipeline import Outcome, Pipeline, Predictor
from bot.poller import Poller
from bot.scheduler import Job, Scheduler
from bot.sender import GROUP_LANE, PUBLIC_LANE, Sender
from bot.store import Store, claims
from bot.store import articles as watched

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
        # one daemon per database: a second one stops here, before it opens or polls anything.
        # Replicas ([cluster]) share one database on purpose: leases in it share the work.
        self.lease = DatabaseLease(config.db)
        if config.cluster is None:
            self.lease.acquire()
        try:
            self._build(config, clock, model, transport, on_outcome, sleep)
        except BaseException:
            self.lease.release()
            raise

    def _build(
        self,
        config: Config,
        clock: Clock,
        model: Predictor | None,
        transport: httpx.BaseTransport | None,
        on_outcome: Callable[[Outcome, dict[str, Any]], None] | None,
        sleep: Callable[[float], None] | None,
    ) -> None:
        from bot.rules import RulesHolder

        self.config = config
        self.clock = clock
        self.store = Store(store_target(config), clock=clock)
        self.cluster: Cluster | None = None
        if config.cluster is not None:
            self.cluster = Cluster(self.store, [acc.name for acc in config.accounts],
                                   replica_id=config.cluster.resolved_id(),
                                   lease_seconds=config.cluster.lease_seconds, clock=clock)
        self.cases = CaseBook(self.store, config.cases)
        from bot.model_holder import ModelHolder

        # the live model: follows models/live.json when a registry is configured. When even
        # the default model cannot be used, the keyword fallback runs (review, never auto)
        # and every place an operator looks says so (issue 17).
        self.model_error: str | None = None

        def holder(live: Predictor | None) -> ModelHolder:
            return ModelHolder(registry=config.model_registry, fallback=config.model,
                               model=live, on_switch=self._on_model_switch)

        try:
            self.models = holder(model)
        except Exception:  # noqa: BLE001 - a broken model file must not be a total outage
            from classifiers.fallback import load_or_fallback

            fallback, self.model_error = load_or_fallback(config.model)
            self.models = holder(fallback)
        self._shadow_since: dict[str, str] = {}
        self.store.set_meta("model_live", self.models.version)
        # a file whose examples fail is refused, at start-up too (docs/rules.md)
        self.rules = RulesHolder(config.rules, clock=clock, predict=self._predict_example)
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.clients, self.hooks = platform_clients(config, transport, **extra)
        self._last_poll: dict[str, Any] = {}
        self.metrics = Metrics(self.store, self._poll_lag)
        self._user_outcome = on_outcome
        self.classify_pool = self._classify_pool(config)
        self.pipeline = Pipeline(
            self.store, self.models, lambda: self.rules.current, clock=clock,
            duty_group=config.cases.duty_group, on_outcome=self._on_outcome,
            pending=self._own_pending if self.cluster is not None else None,
            workers=self.classify_pool,
        )
        self.poller = Poller(
            self.store, self.clients.get, schedule=config.polling, clock=clock,
            on_poll=self._on_poll, on_error=self._on_api_error,
            probe_seconds=config.quota_probe_minutes * 60, on_pause=self._on_pause,
            accounts=self.cluster.held_accounts if self.cluster is not None else None,
        )
        self.sender = Sender.from_config(
            config, self.store, wechat=self.clients.get, groups=self.hooks.get, clock=clock,
            replies_enabled=self._replies_enabled, on_sent=self._on_sent,
            on_error=self._on_api_error,
        )
        # the sender process (bot/send_process.py): only where nothing is injected, since a
        # transport or a clock cannot cross into another process
        self._own_sender = config.sender_process and transport is None and sleep is None \
            and clock is utcnow
        self.send_process: Any = None
        self.inbox, self.push = _push_endpoint(config, self.store, clock, self.metrics)
        from bot.alerts import SpikeJob
        from bot.report.briefing import BriefingJob

        self.spikes = SpikeJob(self.store, lambda: self.rules.current, clock=clock)
        self.briefing = BriefingJob(self.store, config.briefing, config.cases, clock=clock)
        self._stop = threading.Event()
        self._scheduler: Scheduler | None = None
        self._server: Any = None
        self.started_at = clock()
        self.seed_articles()

    def _classify_pool(self, config: Config) -> Any:
        """The classifier's worker processes (``[pipeline] workers``), forked now: the model is
        loaded and no job thread runs yet. None when the writer's thread classifies."""
        workers = config.pipeline_workers
        if workers == 0:
            return None
        from bot.classify_pool import ClassifyPool, auto_workers

        return ClassifyPool(lambda: self.models.current,
                            auto_workers() if workers is None else workers)

    # -- jobs -----------------------------------------------------------------------------
    def seed_articles(self) -> None:
        for acc in self.config.accounts:
            for art in acc.articles:
                self.store.watch_article(acc.name, art.msg_data_id, art.index, title=art.title)

    def runs_cluster_jobs(self) -> bool:
        """Whether the once-per-cluster jobs run here: always without [cluster]; with it, only
        on the replica holding the ``cluster:scheduler`` lease."""
        return self.cluster is None or self.cluster.is_scheduler()

    def beat(self) -> None:
        """Replica mode: renew and rebalance the leases (see bot/cluster.py)."""
        if self.cluster is not None:
            self.cluster.beat()

    def _own_pending(self, limit: int) -> list[dict[str, Any]]:
        assert self.cluster is not None
        return claims.pending_for(self.store, self.cluster.held_accounts(), limit)

    def discover(self) -> int:
        """Find articles to watch through freepublish/batchget (and datacube, best effort)."""
        if not self.runs_cluster_jobs():
            return 0
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
        """Both lanes, public replies first."""
        return self.send_public() + self.send_groups()

    def send_public(self) -> int:
        """Replies, private messages, features, unfeatures: never behind a group robot."""
        return self.sender.drain_all(PUBLIC_LANE, stop=self._stop)

    def send_groups(self) -> int:
        """Group notifications: their own job, however slow a robot is."""
        return self.sender.drain_all(GROUP_LANE, stop=self._stop)

    def check_deadlines(self) -> None:
        if self.runs_cluster_jobs():
            self.cases.check_deadlines(self.clock())

    def check_spikes(self) -> None:
        if self.runs_cluster_jobs():
            self.spikes.run()

    def send_briefing(self) -> None:
        if self.runs_cluster_jobs():
            self.briefing.run()

    def reload_rules(self) -> None:
        # the holder logs each reload (and each refusal) once; here only the metric and heartbeat
        if self.rules.check():
            self.metrics.rules_reloads.labels("ok").inc()
            self.heartbeat(force=True)
        elif self.rules.last_error and getattr(self, "_reported_error", None) != self.rules.last_error:
            self._reported_error = self.rules.last_error
            self.metrics.rules_reloads.labels("refused").inc()

    def heartbeat(self, force: bool = False) -> None:
        """Write what is live (rules, model, when) for the stand-alone desk to read."""
        from bot import heartbeat

        now = self.clock()
        last = getattr(self, "_heartbeat_at", None)
        error = self.rules.last_error
        if (not force and last is not None and error == getattr(self, "_heartbeat_error", None)
                and (now - last).total_seconds() < heartbeat.EVERY_SECONDS):
            return
        self._heartbeat_at, self._heartbeat_error = now, error
        heartbeat.publish(self.store, at=now, rules_version=self.rules.current.version,
                          rules_error=error,
                          model_version=str(getattr(self.model, "version", "") or ""),
                          started_at=self.started_at, model_error=self.model_error)

    @property
    def model(self) -> Any:
        """The live model (it may change while the daemon runs; see bot/model_holder.py)."""
        return self.models.current

    def reload_model(self) -> None:
        """Follow the registry's live.json / shadow.json; score new comments in shadow."""
        self.models.check()
        shadow = self.models.shadow
        if shadow is None or not self.runs_cluster_jobs():
            return
        version = self.models.shadow_version
        if version not in self._shadow_since:
            self._shadow_since = {version: self.store.now()}
            self.store.set_meta("model_shadow", version)
        from bot.shadow import score_shadow

        while score_shadow(self.store, shadow, self._shadow_since[version], self.store.now()):
            if self._stop.is_set():
                break

    def _on_model_switch(self, old: str, new: str) -> None:
        self.store.set_meta("model_live", new)

    def purge(self) -> None:
        """Apply the retention policy ([retention]); logs one line with the counts."""
        from bot.retention import purge

        if not self.runs_cluster_jobs():
            return
        c = self.config
        purge(self.store, c.retention, now=self.clock(), session_idle_minutes=c.web_idle_minutes,
              session_absolute_hours=c.web_absolute_hours)

    def tick(self) -> None:
        """One round of every job, in the foreground."""
        self.beat()
        self.heartbeat()
        self.reload_rules()
        self.reload_model()
        self.poll()
        self.check_spikes()
        self.send()
        self.check_deadlines()
        self.send_briefing()

    # -- run ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the jobs (and the HTTP endpoints) in the background.

        The HTTP port is bound first: when it is taken, this raises before anything is polled.
        """
        c = self.config
        sock = self._bind_http() if c.http_enabled else None
        cluster_jobs = []
        if self.cluster is not None and c.cluster is not None:
            self.cluster.beat()  # take a share of the accounts before the first poll
            cluster_jobs = [Job("cluster", self.cluster.beat, c.cluster.beat_seconds)]
        self.discover()
        self._scheduler = Scheduler(
            [
                *cluster_jobs,
                Job("poll", self.poll, c.tick_seconds),
                *self._send_jobs(),
                Job("rules", self.reload_rules, c.rules_reload_seconds),
                Job("heartbeat", self.heartbeat, 5.0),
                Job("model", self.reload_model, c.rules_reload_seconds),
                Job("deadlines", self.check_deadlines, c.deadline_check_seconds),
                Job("discover", self.discover, c.discover_minutes * 60, jitter=5),
                Job("spikes", self.check_spikes, c.spikes_check_seconds),
                Job("briefing", self.send_briefing, 60.0),
                Job("purge", self.purge, c.retention.purge_every_minutes * 60, jitter=30),
            ]
        )
        self.heartbeat(force=True)
        self._scheduler.start()
        self.metrics.up.set(1)
        if self.model_error:
            self._tell_duty_about_fallback()
        if sock is not None:
            self._start_http(sock)
        logger.info("dianhua running: {} account(s), database {}, rules {}{}",
                    len(self.clients), self.store.path, self.rules.current.version,
                    f", replica {self.cluster.id} ({len(self.cluster.held_accounts())} account(s) "
                    f"here)" if self.cluster is not None else "")

    def _send_jobs(self) -> list[Job]:
        """The sender process and the job that watches it; or the two lanes on job threads."""
        tick = self.config.tick_seconds
        if not self._own_sender:
            return [Job("send", self.send_public, tick), Job("notify", self.send_groups, tick)]
        from bot.send_process import SendProcess

        self.send_process = SendProcess(
            self.config, replies_enabled=self._replies_enabled,
            on_sent=lambda kind: self._on_sent({"kind": kind}),
            on_error=lambda code: self.metrics.api_errors.labels(code).inc(),
        ).start()
        return [Job("send", self.send_process.check, tick)]

    def stop(self) -> None:
        self._stop.set()

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._server is not None:
            self._server.should_exit = True
        self.inbox.close(wait=True)  # pushed messages in hand reach the database first
        if self.send_process is not None:
            self.send_process.close()  # it finishes the rows in hand first
            self.send_process = None
        self.sender.close()
        if self.classify_pool is not None:
            self.classify_pool.close()
        self.metrics.up.set(0)
        for client in self.clients.values():
            client.close()
        if self.cluster is not None:
            try:  # the others take over at their next beat instead of after a lease period
                self.cluster.release()
            except DianhuaError as exc:
                logger.warning("could not give the leases back ({}); they expire by themselves",
                               exc)
        self.lease.release()
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
        try:
            self.start()
            while not self._stop.wait(0.5):
                pass
        finally:
            self.shutdown()

    def serve_http(self) -> None:
        """Serve ``/healthz``, ``/metrics``, ``/wechat/<account>`` and the desk in a thread
        (``start()`` does this when ``http.enabled``; the demo calls it alone)."""
        self._start_http(self._bind_http())

    def _bind_http(self) -> socket.socket:
        host, port = self.config.http_host, self.config.http_port
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise DianhuaError(
                f"cannot listen on {host}:{port} for /healthz and the desk "
                f"({exc.strerror or exc}): is another dianhua running? Set [http] port, or "
                "[http] enabled = false"
            ) from exc
        return sock

    def _start_http(self, sock: socket.socket) -> None:
        import uvicorn

        from bot.http import create_app

        app = create_app(self)
        config = uvicorn.Config(app, host=self.config.http_host, port=self.config.http_port,
                                log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                  name="http", daemon=True)
        thread.start()

    # -- callbacks ------------------------------------------------------------------------
    def _predict_example(self, text: str) -> Any:
        return self.model.predict_many([text])[0]

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

    def _on_pause(self, account: str, what: str, details: dict[str, Any]) -> None:
        """Tell the duty group when an account stops (and starts again) being watched."""
        if what == "paused":
            until = details["until"].astimezone(SHANGHAI).strftime("%m-%d %H:%M")
            probing = (f"每 {details['probe_minutes']:.0f} 分钟询问一次平台，恢复后自动继续；"
                       if details.get("probing") else "")
            text = (f"【监控暂停】公众号 {account} 的留言轮询已暂停：{details['reason']}。"
                    f"最迟北京时间 {until} 恢复；{probing}"
                    "在此期间新的紧急留言不会被发现，请人工查看留言区。"
                    f"处理后可执行 dianhua accounts resume {account} 立即恢复。")
        else:
            text = f"【监控恢复】公众号 {account} 的留言轮询已恢复（{details.get('why', '')}）。"
        duty = self.config.cases.duty_group
        with self.store.transaction() as db:
            enqueue(db, key=f"watch:{account}:{what}:{self.store.now()}", comment_id="",
                    case_id=None, account=account, kind="notify", rule="watch",
                    params={"group": duty, "template": text, "text": text}, at=self.store.now())

    def _on_sent(self, row: dict[str, Any]) -> None:
        self.metrics.sent.labels(row["kind"]).inc()
        if row["kind"] == "reply":
            self.metrics.replies.inc()

    def _on_api_error(self, _where: dict[str, Any], exc: ApiError) -> None:
        self.metrics.api_errors.labels(str(exc.errcode if exc.errcode is not None else "network")).inc()

    def _poll_lag(self) -> dict[str, float]:
        """Per account: seconds since a poll last succeeded (0 while it watches no article)."""
        now = self.clock()
        watching = watched.watching_accounts(self.store)
        if self.cluster is None:
            return {
                name: (now - self._last_poll.get(name, self.started_at)).total_seconds()
                if name in watching else 0.0
                for name in self.clients
            }
        lags = {}  # a replica answers for the accounts it polls; the others are other replicas'
        for name in self.cluster.held_accounts():
            since = self.cluster.held_since(name) or self.started_at
            last = max(self._last_poll.get(name, since), since)  # not from an earlier holding
            lags[name] = (now - last).total_seconds() if name in watching else 0.0
        return lags

    def health(self) -> dict[str, Any]:
        """What /healthz and the desk say: see :mod:`bot.health`."""
        from bot.health import report

        return report(self)


def _push_endpoint(config: Config, store: Store, clock: Clock,
                   metrics: Metrics) -> tuple[Any, Any]:
    """The inbox and the ``/wechat/<account>`` handler for accounts with a push token."""
    from prometheus_client import Counter

    from bot.inbox import Inbox
    from bot.push import PushEndpoint
    from connectors.wechat.push import PushSettings

    inbox = Inbox(store, clock=clock)
    settings = {
        acc.name: PushSettings(token=acc.push_token, appid=acc.appid,
                               mode=acc.message_mode,  # type: ignore[arg-type]
                               encoding_aes_key=acc.encoding_aes_key)
        for acc in config.accounts if acc.push_token
    }
    pushes = Counter("dianhua_pushes", "Pushed private messages, by account and result "
                     "(stored, duplicate, queued, replay, or why refused)", ["account", "result"],
                     registry=metrics.registry)

    def count(account: str, result: str) -> None:
        pushes.labels(account if account in settings else "(unknown)", result).inc()

    endpoint = PushEndpoint(settings, inbox, clock=clock, on_result=count) if settings else None
    return inbox, endpoint


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop``; install this first thing, before slow start-up work."""

    def _on_signal(signum: int, _frame: Any) -> None:
        logger.info("signal {} received: finishing the job in hand", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


__all__ = ["Daemon", "install_signal_handlers"]
