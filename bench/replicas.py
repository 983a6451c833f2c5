"""Several replicas on one database: throughput with 1, 2 and 3 replicas, and the fail-over time
after a SIGKILL (issue 15).

Throughput: 20 accounts (one article each) on the mock; 1, 2 or 3 ``dianhua run`` processes
with ``[cluster]`` are started and wait until their leases settle; then ``--comments`` comments
are injected at once (round robin over the accounts) and the clock runs until every one is
stored, processed and its outbox rows performed. Comments per second, and the ratio to one
replica.

Fail-over: two replicas run with ``lease_seconds`` (default 15, the shipped default); one is
SIGKILLed and at that moment one urgent comment is added under each of its accounts. Measured:
seconds from the kill until the survivor holds every account lease, and until the last of those
comments has its reply at the mock.

    .venv/bin/python bench/replicas.py [--comments 1500] [--failovers 3] [--lease 15]
    .venv/bin/python bench/replicas.py --quick          # 300 comments, one fail-over

The database is the SQLite file (WAL; the replicas are processes on this machine), or the
PostgreSQL server at ``--db-url`` when the engine is there.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import ROOT, median, save, table, texts

from connectors.mock import MockServer

ACCOUNTS = 20
URGENT = "我老婆怀孕了，南山区医院让马上住院，但要核酸结果，已经超过12小时了还没出，能不能优先安排，因为真的挺急"
REPLY_PATH = "/cgi-bin/comment/reply/add"


def write_config(tmp: Path, url: str, articles: list[tuple[int, int]], slot: int, lease: float,
                 db_url: str) -> Path:
    rules = (ROOT / "rules.yaml").read_text(encoding="utf-8").replace(
        "article_rate_limit:            # at most 30 public replies under one article per hour\n"
        "    count: 30", "article_rate_limit:\n    count: 100000")
    (tmp / "rules.yaml").write_text(rules, encoding="utf-8")
    accounts = "".join(
        f'[[accounts]]\nname = "acc{i:02d}"\nbase_url = "{url}"\ndiscover = false\n'
        f'articles = [{{ msg_data_id = "{m}", index = {x} }}]\n'
        for i, (m, x) in enumerate(articles))
    storage = f'url = "{db_url}"' if db_url else f'db = "{tmp / "dianhua.db"}"'
    path = tmp / f"replica-{slot}.toml"
    path.write_text(f"""{accounts}
[storage]
{storage}
[cluster]
lease_seconds = {lease}
claim_seconds = 30
[rules]
path = "{tmp / 'rules.yaml'}"
[polling]
tick_seconds = 0.2
fast_seconds = 1.0
normal_seconds = 1.0
slow_seconds = 1.0
discover_minutes = 60
[wecom]
base_url = "{url}"
[wecom.groups]
duty = "k-duty"
[http]
enabled = false
[log]
file = "{tmp / f'replica-{slot}.jsonl'}"
level = "WARNING"
""", encoding="utf-8")
    return path


class Fleet:
    def __init__(self, tmp: Path, url: str, articles: list[tuple[int, int]], lease: float,
                 db_url: str) -> None:
        self.tmp, self.url, self.articles, self.lease, self.db_url = tmp, url, articles, lease, db_url
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, slot: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIANHUA_")}
        config = write_config(self.tmp, self.url, self.articles, slot, self.lease, self.db_url)
        self.procs[slot] = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=open(self.tmp / f"stderr-{slot}.log", "ab"))  # noqa: SIM115

    def rid(self, slot: int) -> str:
        return f"{socket.gethostname()}:{self.procs[slot].pid}"

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def open_store(tmp: Path, db_url: str) -> Any:
    from bot.store import Store

    return Store(db_url or tmp / "dianhua.db")


def holders(store: Any) -> dict[str, str]:
    from bot.store import leases

    return leases.live(store, "account:")


def wait(predicate: Any, limit: float, step: float = 0.1) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    raise TimeoutError("gave up waiting")


def settled(store: Any, fleet: Fleet, n: int) -> bool:
    """Every account held, by the n live replicas, each with a fair share."""
    h = holders(store)
    ids = {fleet.rid(s) for s in fleet.procs}
    counts = [list(h.values()).count(i) for i in ids]
    share = -(-ACCOUNTS // n)
    return len(h) == ACCOUNTS and set(h.values()) <= ids and len(set(h.values())) == n \
        and max(counts) <= share


def drained(store: Any, total: int) -> bool:
    q = store.query
    done = q("select count(*) as n from comments where state != 'new'")[0]["n"]
    left = q("select count(*) as n from outbox where status in ('pending','inflight')")[0]["n"]
    return bool(done >= total and left == 0)


def fresh_schema(db_url: str) -> str:
    """``db_url`` on a new, empty schema of its own (each run starts from an empty database)."""
    if not db_url:
        return ""
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    sep = "&" if "?" in db_url else "?"
    return f"{db_url}{sep}options={quote(f'-csearch_path={schema}')}"


def throughput(n: int, comments: int, lease: float, db_url: str) -> dict[str, Any]:
    db_url = fresh_schema(db_url)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        mock = MockServer(tmp / "mock.db").start()
        mock.faults.update({"webhook_per_minute": None})
        articles = [mock.state.add_article(f"通知 {i}") for i in range(ACCOUNTS)]
        fleet = Fleet(tmp, mock.url, articles, lease, db_url)
        try:
            for slot in range(n):
                fleet.start(slot)
            time.sleep(1.0)
            store = open_store(tmp, db_url)
            wait(lambda: settled(store, fleet, n), 180, 0.5)
            batch = texts(comments, seed=15)
            t0 = time.monotonic()
            for i, text in enumerate(batch):
                mock.state.add_comment(*articles[i % ACCOUNTS], f"o_{i}", text)
            wait(lambda: drained(store, comments), 900, 0.2)
            seconds = time.monotonic() - t0
            replies = store.query("select count(*) as n from outbox where kind = 'reply'")[0]["n"]
            store.close()
        finally:
            fleet.stop()
            mock.stop()
    return {"replicas": n, "comments": comments, "seconds": round(seconds, 2),
            "per_second": round(comments / seconds, 1), "replies": replies}


def failover(lease: float, db_url: str) -> dict[str, Any]:
    db_url = fresh_schema(db_url)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        mock = MockServer(tmp / "mock.db").start()
        mock.faults.update({"webhook_per_minute": None})
        articles = [mock.state.add_article(f"通知 {i}") for i in range(ACCOUNTS)]
        fleet = Fleet(tmp, mock.url, articles, lease, db_url)
        try:
            fleet.start(0)
            fleet.start(1)
            store = open_store(tmp, db_url)
            wait(lambda: settled(store, fleet, 2), 180, 0.5)
            victim, survivor = fleet.rid(0), fleet.rid(1)
            theirs = sorted(int(a.removeprefix("account:acc")) for a, h in holders(store).items()
                            if h == victim)
            fleet.procs[0].send_signal(signal.SIGKILL)
            t0 = time.monotonic()
            fleet.procs[0].wait()
            cids = [(articles[i], mock.state.add_comment(*articles[i], f"o_fail_{i}", URGENT))
                    for i in theirs]
            leases_at = wait(lambda: set(holders(store).values()) == {survivor}
                             and len(holders(store)) == ACCOUNTS, 300)

            def answered() -> bool:
                for art, cid in cids:
                    comment = [c for c in mock.state.all_comments(*art)
                               if int(c["user_comment_id"]) == int(cid)][0]
                    if not comment.get("reply"):
                        return False
                return True

            wait(answered, 300, 0.1)
            replies_at = time.monotonic() - t0
            store.close()
        finally:
            fleet.stop()
            mock.stop()
    return {"lease_seconds": lease, "accounts_moved": len(theirs),
            "leases_taken_s": round(leases_at, 1), "last_reply_s": round(replies_at, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comments", type=int, default=1500)
    ap.add_argument("--failovers", type=int, default=3)
    ap.add_argument("--lease", type=float, default=15.0, help="lease_seconds for the fail-over")
    ap.add_argument("--replicas", default="1,2,3")
    ap.add_argument("--db-url", default="", help="postgresql://… (default: a SQLite file)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.comments, args.failovers = 300, 1
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    runs = []
    for n in [int(x) for x in args.replicas.split(",")]:
        result = throughput(n, args.comments, 15.0, args.db_url)
        runs.append(result)
        print(f"{n} replica(s): {result['per_second']} comments/s", flush=True)
    base = runs[0]["per_second"]
    for r in runs:
        r["ratio"] = round(r["per_second"] / base, 2)
    fails = []
    for _ in range(args.failovers):
        f = failover(args.lease, args.db_url)
        fails.append(f)
        print(f"fail-over: leases in {f['leases_taken_s']} s, last reply in {f['last_reply_s']} s",
              flush=True)
    engine = "postgresql" if args.db_url else "sqlite"
    save(f"replicas_{engine}", {"engine": engine, "throughput": runs, "failover": fails})
    print(table(["replicas", "comments", "seconds", "comments/s", "ratio"],
                [[r["replicas"], r["comments"], r["seconds"], r["per_second"], r["ratio"]]
                 for r in runs]))
    if fails:
        print(table(["lease s", "accounts moved", "leases taken s", "last reply s"],
                    [[f["lease_seconds"], f["accounts_moved"], f["leases_taken_s"],
                      f["last_reply_s"]] for f in fails]))
        print(f"median: leases {median([f['leases_taken_s'] for f in fails]):.1f} s, last reply "
              f"{median([f['last_reply_s'] for f in fails]):.1f} s")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
