"""Kill the daemon with SIGKILL at random moments while the mock streams comments with faults.

Afterwards: every comment stored and classified once, no comment answered twice, every urgent
one answered, exactly one case per case-opening comment. The CI version runs a bounded number
of kills (``DIANHUA_TORTURE_KILLS``, default 12); the long version (50 kills over 5,000
comments) is ``DIANHUA_TORTURE_KILLS=50 DIANHUA_TORTURE_COMMENTS=5000 pytest -m torture``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from outcome import assert_exactly_once

from bot.store import Store
from connectors.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.torture, pytest.mark.slow]


def _texts(n: int) -> list[str]:
    rows: list[str] = []
    for name in ("test.jsonl", "valid.jsonl", "train.jsonl"):
        with open(ROOT / "data" / name, encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh)
    rnd = random.Random(5)
    rnd.shuffle(rows)
    return [rows[i % len(rows)] + ("" if i < len(rows) else f" ({i})") for i in range(n)]


def _config(tmp: Path, url: str, target: str, workers: int | None = None) -> Path:
    pipeline = f"[pipeline]\nworkers = {workers}\n" if workers is not None else ""
    path = tmp / "dianhua.toml"
    storage = f'db = "{target}"'
    if target.startswith("postgresql"):  # the file's folder still holds the one-daemon lock
        storage = f'db = "{tmp / "dianhua.db"}"\nurl = "{target}"'
    path.write_text(
        f"""
[[accounts]]
name = "main"
base_url = "{url}"

[storage]
{storage}

[rules]
path = "{ROOT / 'rules.yaml'}"
reload_seconds = 1

[polling]
tick_seconds = 0.2
fast_seconds = 0.5
normal_seconds = 0.5
slow_seconds = 0.5
discover_minutes = 0.05

[sender]
max_attempts = 100
backoff_cap_seconds = 1

[wecom]
base_url = "{url}"
[wecom.groups]
duty = "k-duty"

[http]
enabled = false
{pipeline}
[log]
file = "{tmp / 'log' / 'dianhua.jsonl'}"
level = "INFO"
""",
        encoding="utf-8",
    )
    return path


def _start(config: Path, tmp: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIANHUA_")}
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=open(tmp / "stderr.log", "ab"),  # noqa: SIM115
    )


def _runs(tmp: Path) -> int:
    path = tmp / "stderr.log"
    return path.read_text(encoding="utf-8", errors="replace").count("dianhua running") \
        if path.exists() else 0


def _busy(db: str, expected: int) -> bool:
    if not db.startswith("postgresql") and not Path(db).exists():
        return True
    store = Store(db)
    try:
        q = store.query
        stored = q("select count(*) as n from comments")[0]["n"]
        pending = q("select (select count(*) from comments where state = 'new') + (select count(*)"
                    " from outbox where status in ('pending','inflight')) as n")[0]["n"]
        return bool(stored < expected or pending)
    finally:
        store.close()


def _children(pid: int) -> set[int]:
    """The processes ``pid`` forked (the classifier's workers), from any of its threads."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path,
                                                               db_target: str) -> None:
    """On each engine (the file, or PostgreSQL through ``[storage] url``)."""
    _torture(tmp_path, db_target, kill_workers=False)


@pytest.mark.timeout(600)  # each round waits for a full start-up (slow on a busy machine)
def test_sigkill_of_the_classifier_workers_too(tmp_path: Path) -> None:
    """The classifier's worker processes are killed as well, alone and with the daemon: a
    batch a dead worker held is classified again; the workers of a killed daemon exit.
    Half as many rounds as the daemon-only test (``DIANHUA_TORTURE_KILLS`` / 2, at least 4).
    Run on the SQLite file only (each round waits for a full start-up: minutes)."""
    _torture(tmp_path, str(tmp_path / "dianhua.db"), kill_workers=True)


def _torture(tmp_path: Path, db_target: str, *, kill_workers: bool) -> None:
    kills = int(os.environ.get("DIANHUA_TORTURE_KILLS", "12"))
    if kill_workers:
        kills = max(4, kills // 2)
    total = int(os.environ.get("DIANHUA_TORTURE_COMMENTS", "300"))
    rnd = random.Random(int(os.environ.get("DIANHUA_TORTURE_SEED", "1")))
    mock = MockServer(tmp_path / "mock.db", token_ttl=20).start()
    stop = threading.Event()
    proc: subprocess.Popen[bytes] | None = None
    try:
        articles = [mock.state.add_article(f"通知 {i}") for i in range(10)]
        mock.faults.update({"error_rate": 0.1, "webhook_per_minute": None, "seed": 3})
        texts = _texts(total)
        urgent_writers: list[str] = []

        def feed() -> None:
            for i, text in enumerate(texts):
                if stop.is_set():
                    return
                openid = f"o_{i}"
                mock.state.add_comment(*articles[i % len(articles)], openid, text)
                if i % 25 == 0:
                    urgent_writers.append(openid)
                time.sleep(0.01)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        config = _config(tmp_path, mock.url, db_target, workers=2 if kill_workers else None)
        workers_seen: set[int] = set()
        workers_killed = 0
        for _ in range(kills):
            proc = _start(config, tmp_path)
            if kill_workers:  # the workers are forked at the end of start-up: wait for them
                forked_by = time.monotonic() + 120
                while (not _children(proc.pid) and proc.poll() is None
                       and time.monotonic() < forked_by):
                    time.sleep(0.05)
                time.sleep(rnd.uniform(0.0, 3.0))
            else:
                time.sleep(rnd.uniform(2.5, 7.0))  # start-up takes ~3 s: kills land everywhere
            if kill_workers:
                for _round in range(2):  # the daemon starts new workers; kill those too
                    workers = _children(proc.pid)
                    workers_seen |= workers
                    for pid in workers:
                        os.kill(pid, signal.SIGKILL)
                        workers_killed += 1
                    time.sleep(rnd.uniform(0.2, 1.5))
                workers_seen |= _children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            if rnd.random() < 0.3:
                mock.state.expire_tokens()
        feeder.join(timeout=120)
        mock.faults.update({"error_rate": 0.0})
        started = _runs(tmp_path)
        proc = _start(config, tmp_path)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and _runs(tmp_path) == started:
            time.sleep(0.2)  # SIGTERM is for a running daemon, not a half-started interpreter
        while time.monotonic() < deadline and _busy(db_target, total):
            time.sleep(1)
        workers_seen |= _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "SIGTERM must exit cleanly"
        if kill_workers:
            assert workers_killed > 0, "no kill landed on a worker"
            gone_by = time.monotonic() + 30  # an orphaned worker notices within a second
            while time.monotonic() < gone_by and any(_alive(p) for p in workers_seen):
                time.sleep(0.2)
            assert not [p for p in workers_seen if _alive(p)], "a worker outlived its daemon"
    finally:
        stop.set()
        mock.faults.update({"error_rate": 0.0})
        if proc is not None and proc.poll() is None:  # a failed or timed-out run: no leftovers
            proc.kill()
            proc.wait(timeout=30)

    store = Store(db_target)
    assert_exactly_once(store, mock, articles, total, tmp_path / "log")
    store.close()
    mock.stop()
