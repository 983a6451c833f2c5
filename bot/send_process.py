"""Public replies and group messages from a process of their own (issue 16).

At hundreds of comments a second the daemon's interpreter is busy recording decisions; the
replies and group messages, each a platform call, fell behind it. ``dianhua run`` therefore
starts one **sender process** (``[sender] process = true``, the default) that drains both lanes
of the outbox (:data:`~bot.sender.PUBLIC_LANE`, :data:`~bot.sender.GROUP_LANE`) on threads of
its own, with the same exactly-once protocol (:mod:`bot.sender`): a row is marked ``inflight``
before its call and ``sent`` after it; a reply found ``inflight`` is looked up on the platform
before it is posted again.

One sender per database: the process holds ``<database>.sender.lock`` (an ``flock``, like the
daemon's own lease) for its lifetime. A sender whose daemon was killed notices within a fraction
of a second, finishes the rows in hand and exits; the next daemon's sender waits for the lock
before it touches the outbox, so two senders never perform the same row. With replicas the row
claims do that (``bot/store/claims.py``), under a holder name of the process's own
(``<replica>/sender-<pid>``): a row claimed by a sender that died waits for its claim to expire. A sender that dies is started again by the daemon's
``send`` job.

The daemon tells the sender whether public replies are on (``rules.yaml``'s settings, which
the daemon reloads) through a shared flag, and when to stop. The sender tells the daemon each
row it sent and each platform error (for ``/metrics``), and its log lines, over one queue: the
daemon writes them, so the log file keeps one writer.

Tests and the demo, which inject a transport or a clock, keep the senders on the daemon's own
threads (``Daemon.tick``), as does ``[sender] process = false``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from bot import pii

if TYPE_CHECKING:
    from bot.config import Config

STOP_SECONDS = 30.0  # a stopping sender finishes the rows in hand; then it is terminated
WATCH_SECONDS = 0.2
RESTART_MAX_SECONDS = 60.0  # how often the sender looks whether its daemon is still there


class SendProcess:
    """The daemon's handle on its sender process."""

    def __init__(self, config: Config, *, replies_enabled: Callable[[], bool],
                 on_sent: Callable[[str], None], on_error: Callable[[str], None]) -> None:
        self.config = config
        self.replies_enabled = replies_enabled
        self.on_sent = on_sent
        self.on_error = on_error
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited
        # No lock a killed sender could leave held (it would hang the daemon's next call): the
        # switch is one unlocked byte, stop is SIGTERM, and each sender has a queue of its own.
        self._flag = self._ctx.Value("b", 1, lock=False)   # database connections or threads
        self.ready_pid: int | None = None  # the last sender that has its SIGTERM handler on
        self._proc: Any = None
        self._started_at = self._next_start = 0.0
        self._delay = 0.0  # before the next start when the sender keeps dying young
        self._closing = threading.Event()
        self._pumps: list[threading.Thread] = []

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else int(self._proc.pid)

    def alive(self) -> bool:
        return self._proc is not None and bool(self._proc.is_alive())

    def start(self) -> SendProcess:
        self._started_at = time.monotonic()
        self._flag.value = 1 if self.replies_enabled() else 0
        events = self._ctx.Queue()
        proc = self._ctx.Process(target=_main, name="dianhua-sender", daemon=False,
                                 args=(self.config, os.getpid(), self._flag, events))
        proc.start()
        self._proc = proc
        pump = threading.Thread(target=self._read_events, args=(proc, events),
                                name="sender-events", daemon=True)
        pump.start()
        self._pumps = [t for t in self._pumps if t.is_alive()] + [pump]
        logger.info("sender process started (pid {}, {} call(s) in flight per lane)",
                    self._proc.pid, self.config.sender_concurrency)
        return self

    def check(self) -> None:
        """The daemon's ``send`` job: pass the replies switch on, start a dead sender again
        (at once the first time; after 1, 2, 4 … up to 60 s when it keeps dying young)."""
        self._flag.value = 1 if self.replies_enabled() else 0
        if self._closing.is_set() or self.alive():
            return
        now = time.monotonic()
        if now < self._next_start:
            return
        code = None if self._proc is None else self._proc.exitcode
        lived = now - self._started_at
        self._delay = 0.0 if lived > RESTART_MAX_SECONDS else min(
            RESTART_MAX_SECONDS, max(1.0, self._delay * 2))
        self._next_start = now + self._delay
        self.restarts += 1
        logger.warning("the sender process exited (exit code {}); starting a new one: rows it "
                       "had in hand are checked before they are sent again", code)
        self.start()

    def close(self, timeout: float = STOP_SECONDS) -> None:
        """Ask the sender to finish the rows in hand and exit; terminate it after ``timeout``."""
        self._closing.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.terminate()  # SIGTERM: the sender finishes the rows in hand and exits
            proc.join(timeout)
            if proc.is_alive():
                logger.warning("the sender process did not stop within {:.0f} s; killing it "
                               "(rows in hand are checked at the next start)", timeout)
                proc.kill()
                proc.join(5)
        for pump in self._pumps:
            pump.join(5)

    def _read_events(self, proc: Any, events: Any) -> None:
        """One sender's events, until it has exited and its queue is empty."""
        while True:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                if not proc.is_alive():
                    return
                continue
            except Exception:  # noqa: BLE001 - a sender killed mid-write leaves a torn message
                return
            kind, value = event[0], event[1]
            if kind == "sent":
                self.on_sent(str(value))
            elif kind == "error":
                self.on_error(str(value))
            elif kind == "ready":
                self.ready_pid = int(value)
            elif kind == "log":
                logger.log(str(value), "sender: {}", str(event[2]))


# -- inside the sender process -------------------------------------------------------------
def _main(config: Config, parent: int, flag: Any, events: Any) -> None:
    asked = [False]  # set by SIGTERM (the daemon's close): only a flag, no lock in a handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle
    signal.signal(signal.SIGTERM, lambda *_: asked.__setitem__(0, True))
    _log_to(events, config.log_level)
    events.put(("ready", os.getpid()))
    halt = threading.Event()

    def watch() -> None:  # the daemon stopped us, or was killed: finish what is in hand
        while not halt.is_set():
            time.sleep(WATCH_SECONDS)
            if asked[0] or os.getppid() != parent:
                halt.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    try:
        _serve(config, flag, events, halt)
    except Exception as exc:  # noqa: BLE001 - told to the daemon, which starts a new one
        logger.opt(exception=exc).error("stopped by an unexpected error: {}", exc)
        raise SystemExit(1) from exc


def _serve(config: Config, flag: Any, events: Any, halt: threading.Event) -> None:
    from bot.clients import platform_clients
    from bot.config import store_target
    from bot.errors import DianhuaError
    from bot.lease import DatabaseLease, LeaseError
    from bot.sender import GROUP_LANE, PUBLIC_LANE, Sender
    from bot.store import Store

    # One daemon: the sender lock keeps a sender left from a killed daemon apart from the next.
    # Replicas: row claims do, under a holder name of this process's own.
    lease = DatabaseLease(config.db, "sender") if config.cluster is None else None
    told = False
    while lease is not None and not halt.is_set():
        try:
            lease.acquire()
            break
        except LeaseError:
            if not told:  # the previous daemon's sender finishes its rows in hand first
                logger.info("waiting for the previous sender process to finish")
                told = True
            halt.wait(0.1)
    if lease is not None and not lease.held:
        return
    claim_as = (f"{config.cluster.resolved_id()}/sender-{os.getpid()}"
                if config.cluster is not None else None)
    store = Store(store_target(config))
    clients, hooks = platform_clients(config)
    sender = Sender.from_config(
        config, store, wechat=clients.get, groups=hooks.get,
        replies_enabled=lambda: bool(flag.value),
        on_sent=lambda row: events.put(("sent", row["kind"])),
        on_error=lambda _row, exc: events.put(
            ("error", str(exc.errcode if exc.errcode is not None else "network"))),
        claim_as=claim_as,
    )

    def lane(name: str, kinds: tuple[str, ...]) -> None:
        while not halt.is_set():
            try:
                sender.drain_all(kinds, stop=halt)
            except DianhuaError as exc:  # the database was busy or away: the next turn retries
                logger.warning("the {} lane stopped a turn: {}", name, exc)
            except Exception as exc:  # noqa: BLE001 - a bug must not end the lane
                logger.opt(exception=exc).error("the {} lane failed: {}", name, exc)
            halt.wait(config.tick_seconds)

    lanes = [threading.Thread(target=lane, args=(name, kinds), name=f"lane-{name}")
             for name, kinds in (("replies", PUBLIC_LANE), ("groups", GROUP_LANE))]
    try:
        for thread in lanes:
            thread.start()
        for thread in lanes:
            thread.join()
    finally:
        sender.close()
        for client in clients.values():
            client.close()
        store.close()
        if lease is not None:
            lease.release()


def _log_to(events: Any, level: str) -> None:
    """This process's log lines go to the daemon (masked here already, and again there)."""

    def sink(message: Any) -> None:
        record = message.record
        text = record["message"]
        if record["exception"] is not None:
            text += f" ({type(record['exception'].value).__name__})"
        events.put(("log", record["level"].name, pii.mask(text)))

    logger.remove()
    logger.add(sink, level=level, format="{message}", backtrace=False, diagnose=False)


__all__ = ["SendProcess"]
