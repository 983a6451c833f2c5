"""Three replicas ([cluster]) on one database, 20 accounts on the mock (a real HTTP server), a
steady stream of comments, and a random replica SIGKILLed every few seconds and restarted.

Afterwards: every comment stored and processed once (0 lost), one reply at most per comment,
each posted once on the platform (0 duplicate replies, counted at the mock), one case per
case-opening comment (0 duplicates), and every lease held by a live replica. The CI version
kills ``DIANHUA_TORTURE_REPLICA_KILLS`` times (default 8) over ``DIANHUA_TORTURE_COMMENTS``
comments (default 300); its figures are in docs/reliability.md.

Two databases: the SQLite file in WAL mode (several processes on one machine), and a
PostgreSQL server of the test's own (``restartable_pg``) that is also stopped at once
(``pg_ctl -m immediate``, as in a crash) and started again in the middle of the run: the
replicas reconnect and nothing is lost.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from outcome import assert_exactly_once
from pg_server import PgServer

from bot.errors import StoreError
from bot.store import Store, leases
from connectors.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 20
REPLICAS = 3
LEASE_SECONDS = 3
REPLY_PATH = "/cgi-bin/comment/reply/add"
pytestmark = [pytest.mark.torture, pytest.mark.slow]


def _texts(n: int) -> list[str]:
    rows: list[str] = []
    for name in ("test.jsonl", "valid.jsonl"):
        with open(ROOT / "data" / name, encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh)
    rnd = random.Random(15)
    rnd.shuffle(rows)
    return [rows[i % len(rows)] + ("" if i < len(rows) else f" ({i})") for i in range(n)]


def _configs(tmp: Path, url: str, articles: list[tuple[int, int]], storage: str) -> list[Path]:
    accounts = "".join(
        f"""
[[accounts]]
name = "acc{i:02d}"
base_url = "{url}"
discover = false
articles = [{{ msg_data_id = "{mid}", index = {idx} }}]
"""
        for i, (mid, idx) in enumerate(articles)
    )
    paths = []
    for slot in range(REPLICAS):
        path = tmp / f"replica-{slot}.toml"
        path.write_text(
            accounts + f"""
[storage]
{storage}

[cluster]
lease_seconds = {LEASE_SECONDS}
claim_seconds = 10

[rules]
path = "{ROOT / 'rules.yaml'}"
reload_seconds = 5

[polling]
tick_seconds = 0.3
fast_seconds = 0.5
normal_seconds = 0.5
slow_seconds = 0.5

[sender]
max_attempts = 100
backoff_cap_seconds = 1

[wecom]
base_url = "{url}"
[wecom.groups]
duty = "k-duty"

[http]
enabled = false

[log]
file = "{tmp / 'log' / f'replica-{slot}.jsonl'}"
level = "INFO"
""",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


class Replicas:
    """Three `dianhua run` processes, one per slot; SIGKILL and restart a slot."""

    def __init__(self, tmp: Path, configs: list[Path]) -> None:
        self.tmp, self.configs = tmp, configs
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * len(configs)
        self.runs_before = [0] * len(configs)
        self.kills = 0
        self.kills_running = 0  # of a replica past start-up (polling, sending, holding leases)

    def _runs(self, slot: int) -> int:
        path = self.tmp / f"stderr-{slot}.log"
        return path.read_text(encoding="utf-8", errors="replace").count("dianhua running") \
            if path.exists() else 0

    def start(self, slot: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIANHUA_")}
        self.runs_before[slot] = self._runs(slot)
        self.procs[slot] = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(self.configs[slot])],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"stderr-{slot}.log", "ab"),  # noqa: SIM115
        )

    def running(self, slot: int) -> bool:
        """The slot's current process got past start-up ("dianhua running")."""
        proc = self.procs[slot]
        return proc is not None and proc.poll() is None and self._runs(slot) > self.runs_before[slot]

    def wait_running(self, at_least: int = 1, limit: float = 90) -> list[int]:
        """The slots running now, waiting (up to ``limit`` s) until ``at_least`` are."""
        deadline = time.monotonic() + limit
        while True:
            up = [s for s in range(len(self.procs)) if self.running(s)]
            if len(up) >= at_least or time.monotonic() > deadline:
                return up
            time.sleep(0.2)

    def kill(self, slot: int) -> None:
        proc = self.procs[slot]
        if proc is not None:
            self.kills_running += int(self.running(slot))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            self.kills += 1

    def ids(self) -> set[str]:
        host = socket.gethostname()
        return {f"{host}:{p.pid}" for p in self.procs if p is not None and p.poll() is None}

    def stop_all(self) -> list[int]:
        codes = []
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            if proc is not None:
                codes.append(proc.wait(timeout=60))
        return codes

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def _busy(db: str, expected: int) -> bool:
    try:
        store = Store(db, must_exist=True)
    except StoreError:
        return True  # not created yet, or the server is restarting
    try:
        q = store.query
        stored = q("select count(*) as n from comments")[0]["n"]
        pending = q("select (select count(*) from comments where state = 'new') + (select count(*)"
                    " from outbox where status in ('pending','inflight')) as n")[0]["n"]
        return bool(stored < expected or pending)
    except StoreError:
        return True
    finally:
        store.close()


def _leases_settled(db: str, live: set[str]) -> bool:
    store = Store(db)
    try:
        accounts = leases.live(store, "account:")
        scheduler = leases.live(store, "cluster:scheduler")
        return (len(accounts) == ACCOUNTS and set(accounts.values()) <= live
                and set(scheduler.values()) <= live and len(scheduler) == 1)
    finally:
        store.close()


def test_three_replicas_sigkilled_at_random_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "dianhua.db")
    torture(tmp_path, db, f'db = "{db}"')


def test_replicas_on_postgresql_survive_sigkills_and_a_server_restart(
        tmp_path: Path, restartable_pg: PgServer) -> None:
    torture(tmp_path, restartable_pg.url, f'url = "{restartable_pg.url}"',
            restart=restartable_pg.restart)


def torture(tmp_path: Path, db: str, storage: str,
            restart: Callable[[], None] | None = None) -> None:
    kills = int(os.environ.get("DIANHUA_TORTURE_REPLICA_KILLS", "8"))
    total = int(os.environ.get("DIANHUA_TORTURE_COMMENTS", "300"))
    rnd = random.Random(int(os.environ.get("DIANHUA_TORTURE_SEED", "1")))
    mock = MockServer(tmp_path / "mock.db", token_ttl=20).start()
    articles = [mock.state.add_article(f"通知 {i}") for i in range(ACCOUNTS)]
    mock.faults.update({"error_rate": 0.05, "webhook_per_minute": None, "seed": 3})
    replicas = Replicas(tmp_path, _configs(tmp_path, mock.url, articles, storage))
    stop = threading.Event()
    started = time.monotonic()
    restarts = 0
    try:
        texts = _texts(total)
        feed_seconds = kills * 3.0

        def feed() -> None:  # a steady stream over the whole killing period
            for i, text in enumerate(texts):
                if stop.is_set():
                    return
                mock.state.add_comment(*articles[i % ACCOUNTS], f"o_{i}", text)
                time.sleep(feed_seconds / total)

        for slot in range(REPLICAS):
            replicas.start(slot)
        replicas.wait_running(REPLICAS)  # then the stream starts, and the killing
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        for k in range(kills):
            # most kills hit a replica at work (polling, sending, holding leases) while another
            # one runs to take over; a few hit one still starting (start-up takes seconds)
            up = replicas.wait_running(2)
            slot = rnd.choice(up) if up and rnd.random() < 0.8 else rnd.randrange(REPLICAS)
            time.sleep(rnd.uniform(1.0, 4.0))
            if restart is not None and k == kills // 2:
                restart()  # the database server goes down and comes back, mid-stream
                restarts += 1
            replicas.kill(slot)
            replicas.start(slot)
        feeder.join(timeout=120)
        mock.faults.update({"error_rate": 0.0})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _busy(db, total):
            time.sleep(0.5)
        while time.monotonic() < deadline and not all(map(replicas.running, range(REPLICAS))):
            time.sleep(0.2)
        live = replicas.ids()
        while time.monotonic() < deadline and not _leases_settled(db, live):
            time.sleep(0.5)
        assert _leases_settled(db, live), "every lease held by a live replica"
        assert replicas.kills_running >= kills // 2, "the kills hit replicas at work"
        assert replicas.stop_all() == [0] * REPLICAS, "SIGTERM must exit cleanly"
    finally:
        stop.set()
        replicas.kill_all()
        mock.faults.update({"error_rate": 0.0})
    elapsed = time.monotonic() - started

    store = Store(db)
    q = store.query
    rows = assert_exactly_once(store, mock, articles, total, tmp_path / "log")
    replies, cases = rows["replies"], rows["cases"]
    stats = mock.stats.snapshot()
    reply_errors = stats["errcodes"].get(REPLY_PATH, {})
    posted = stats["calls"].get(REPLY_PATH, 0) - sum(reply_errors.values())
    assert posted == len(replies), "each reply posted once at the mock"
    holders = {r["account"] for r in q("select distinct account from comments")}
    assert len(holders) == ACCOUNTS
    figures = {"kills": replicas.kills, "kills_of_running": replicas.kills_running,
               "db_restarts": restarts, "comments": total, "replies": len(replies),
               "cases": len(cases), "refused_as_already_replied": reply_errors.get("88005", 0),
               "seconds": round(elapsed, 1)}
    print("replica torture:", json.dumps(figures))
    store.close()
    mock.stop()
