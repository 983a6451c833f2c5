"""API economy: comment/list calls per hour for 50 watched articles of mixed age under the
adaptive schedule (PollSchedule defaults) against a fixed 10-second poll of every article.

A simulated day with an injected clock: the real Store and Poller, a fake platform that counts
calls and records when each comment is first seen (detection latency). Then a short real run
of the daemon against the mock checks the simulation against /_mock/stats.

    .venv/bin/python bench/api_economy.py [--quick] [--hours 24] [--check-seconds 60]
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import percentile, pyplot, save, table

from bot.poller import Poller, PollSchedule
from bot.store import Store

START = datetime(2022, 1, 8, 0, 0, tzinfo=UTC)
FIXED = PollSchedule(fast_seconds=10, normal_seconds=10, slow_seconds=10, stop_after_days=3650)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Platform:
    """Comments per article with arrival times; counts calls, records first sight."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.arrived: dict[tuple[str, int], datetime] = {}
        self.seen: dict[tuple[str, int], datetime] = {}
        self.calls = 0
        self.calls_by_hour: dict[int, int] = {}

    def add(self, mid: str, at: datetime) -> None:
        lst = self.comments.setdefault(mid, [])
        cid = len(lst) + 1
        lst.append({"user_comment_id": cid, "openid": f"o{cid}", "content": "x",
                    "create_time": int(at.timestamp()), "comment_type": 0})
        self.arrived[(mid, cid)] = at

    def list_comments(self, msg_data_id: Any, index: int = 0, begin: int = 0, count: int = 49,
                      type: int = 0) -> Any:
        self.calls += 1
        hour = int((self.clock() - START).total_seconds() // 3600)
        self.calls_by_hour[hour] = self.calls_by_hour.get(hour, 0) + 1
        lst = self.comments.get(str(msg_data_id), [])
        page = lst[begin:begin + count]
        for c in page:
            self.seen.setdefault((str(msg_data_id), c["user_comment_id"]), self.clock())

        class Page:
            total = len(lst)
            comments = page

        return Page()


def article_ages(n: int, rnd: random.Random) -> list[float]:
    """Hours since publication at the start: a few fresh, some a day or two, many older."""
    ages = [0.0, 0.5, 1, 2, 3, 4, 5, 8, 10, 12]
    ages += [rnd.uniform(12, 48) for _ in range(15)]
    ages += [rnd.uniform(48, 168) for _ in range(20)]
    ages += [rnd.uniform(168, 400) for _ in range(n - len(ages))]
    return ages[:n]


def comment_times(age_h: float, hours: float, rnd: random.Random) -> list[float]:
    """Arrival offsets (s): 60 comments in the first hour after publication, decaying with a
    6-hour time constant (a Poisson process)."""
    out, t = [], 0.0
    while t < hours * 3600:
        a = age_h + t / 3600
        rate = 60 / 3600 * math.exp(-a / 6) + 0.5 / 3600  # per second, plus a trickle
        t += rnd.expovariate(rate)
        if t < hours * 3600:
            out.append(t)
    return out


def simulate(schedule: PollSchedule, hours: float, seed: int, tmp: Path, name: str,
             new_articles_at: list[float]) -> dict[str, Any]:
    rnd = random.Random(seed)
    clock = Clock()
    store = Store(tmp / f"{name}.db", clock=clock)
    platform = Platform(clock)
    poller = Poller(store, lambda _a: platform, schedule=schedule, clock=clock)
    ages = article_ages(50, rnd)
    arrivals: list[tuple[float, str]] = []
    pending_articles: list[tuple[float, str, float]] = []
    for i, age in enumerate(ages):
        mid = str(1000 + i)
        if i < len(new_articles_at):  # published during the day, watched at once
            pending_articles.append((new_articles_at[i], mid, 0.0))
            arrivals += [(new_articles_at[i] + t, mid) for t in comment_times(0, hours, rnd)]
        else:
            store.watch_article("main", mid, 0, published_at=START - timedelta(hours=age))
            arrivals += [(t, mid) for t in comment_times(age, hours, rnd)]
    arrivals.sort()
    pending_articles.sort()
    ai = 0
    second = 0
    end = int(hours * 3600)
    while second < end:
        clock.now = START + timedelta(seconds=second)
        while pending_articles and pending_articles[0][0] <= second:
            _, mid, _ = pending_articles.pop(0)
            store.watch_article("main", mid, 0, published_at=clock.now)
        while ai < len(arrivals) and arrivals[ai][0] <= second:
            platform.add(arrivals[ai][1], clock.now)
            ai += 1
        poller.poll_due(limit=100)
        # jump to the next whole second at which something happens (the daemon ticks each second)
        due = store.query("select min(next_poll_at) as t from articles where active = 1")[0]["t"]
        nxt = [float(end)]
        if due:
            nxt.append((datetime.fromisoformat(due) - START).total_seconds())
        if ai < len(arrivals):
            nxt.append(arrivals[ai][0])
        if pending_articles:
            nxt.append(pending_articles[0][0])
        second = max(second + 1, math.ceil(min(nxt)))
    store.close()
    new_mids = {str(1000 + i) for i in range(len(new_articles_at))}
    lat_new, lat_all = [], []
    for key, at in platform.arrived.items():
        seen = platform.seen.get(key)
        if seen is None:
            continue
        d = (seen - at).total_seconds()
        lat_all.append(d)
        if key[0] in new_mids and (at - START).total_seconds() - new_articles_at[
                int(key[0]) - 1000] < 6 * 3600:
            lat_new.append(d)
    missed = len(platform.arrived) - len(lat_all)
    return {"calls": platform.calls, "calls_per_hour": platform.calls / hours,
            "calls_by_hour": platform.calls_by_hour, "comments": len(platform.arrived),
            "never_seen": missed,
            "detect_new_p50_s": percentile(lat_new, 50), "detect_new_p95_s": percentile(lat_new, 95),
            "detect_new_max_s": max(lat_new, default=float("nan")),
            "detect_all_p50_s": percentile(lat_all, 50), "detect_all_p95_s": percentile(lat_all, 95),
            "detect_all_max_s": max(lat_all, default=float("nan"))}


def real_check(seconds: float) -> dict[str, Any]:
    """50 freshly published articles, the daemon with default polling for ``seconds``."""

    from bot.config import AccountConfig, ArticleConfig, Config
    from bot.daemon import Daemon
    from connectors.mock import MockServer

    tmp = Path(tempfile.mkdtemp(prefix="economy_"))
    mock = MockServer(tmp / "mock.db", port=0).start()
    arts = [mock.state.add_article(f"通知 {i}") for i in range(50)]
    cfg = Config(accounts=(AccountConfig(base_url=mock.url, discover=False, articles=tuple(
        ArticleConfig(str(m), i) for m, i in arts)),), db=tmp / "d.db",
        rules=Path(__file__).resolve().parents[1] / "rules.yaml", http_enabled=False,
        log_file=None, tick_seconds=1.0)
    daemon = Daemon(cfg)
    daemon.start()
    while not any(p.endswith("comment/list") for p in mock.stats.snapshot()["calls"]):
        time.sleep(0.01)
    time.sleep(seconds)
    daemon.stop()
    daemon.shutdown()
    calls = sum(n for p, n in mock.stats.snapshot()["calls"].items() if p.endswith("comment/list"))
    mock.stop()
    expected = 50 * (math.floor(seconds / 10) + 1)
    return {"seconds": seconds, "mock_comment_list_calls": calls,
            "simulated_expectation": expected,
            "note": "polls at 0, 10, 20 ... s after the first one"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 simulated hours, 20 s real check")
    ap.add_argument("--hours", type=float, default=None)
    ap.add_argument("--check-seconds", type=float, default=None)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    from loguru import logger

    logger.remove()
    hours = args.hours or (2.0 if args.quick else 24.0)
    check = args.check_seconds or (25.0 if args.quick else 55.0)
    new_at = [h * 3600.0 for h in (1, 5, 9, 13, 17) if h < hours]
    with tempfile.TemporaryDirectory() as d:
        adaptive = simulate(PollSchedule(), hours, args.seed, Path(d), "adaptive", new_at)
        fixed = simulate(FIXED, hours, args.seed, Path(d), "fixed", new_at)
    real = real_check(check)
    headers = ["schedule", "comment/list per hour", "comments", "new-article detection p50 s",
               "p95 s", "max s", "all comments detection p50 s", "p95 s", "max s"]
    rows = [[n, r["calls_per_hour"], r["comments"], r["detect_new_p50_s"], r["detect_new_p95_s"],
             r["detect_new_max_s"], r["detect_all_p50_s"], r["detect_all_p95_s"],
             r["detect_all_max_s"]] for n, r in (("adaptive (defaults)", adaptive),
                                                 ("fixed 10 s", fixed))]
    print(f"simulated {hours:g} h, 50 articles ({len(new_at)} published during the run)\n"
          + table(headers, rows))
    print(f"\nsaving: {1 - adaptive['calls'] / fixed['calls']:.0%} fewer calls")
    print(f"real run, {check:g} s, 50 fresh articles: /_mock/stats comment/list = "
          f"{real['mock_comment_list_calls']} (one call per article every 10 s predicts "
          f"{real['simulated_expectation']})")
    path = save("api_economy" + ("_quick" if args.quick else ""),
                {"hours": hours, "adaptive": adaptive, "fixed": fixed, "real_check": real})
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for n, r in (("adaptive", adaptive), ("fixed 10 s", fixed)):
        hs = sorted(r["calls_by_hour"])
        ax.plot(hs, [r["calls_by_hour"][h] for h in hs], label=n, drawstyle="steps-post")
    ax.set_xlabel("simulated hour")
    ax.set_ylabel("comment/list calls")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("comment/list calls per hour, 50 articles")
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"), dpi=110)


if __name__ == "__main__":
    main()
