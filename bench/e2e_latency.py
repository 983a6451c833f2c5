"""End to end over HTTP: comments injected into the mock at 10, 100 and 500 per second across
50 articles; the real daemon (``dianhua run`` in a subprocess, its scheduler and HTTP client)
polls, classifies, decides and replies. Latency = injection time -> the mock receiving the
reply (``comment/reply/add``), both taken with this process's clock.

    .venv/bin/python bench/e2e_latency.py [--quick] [--rates 10,100,500] [--seconds 60]

The rules are the shipped rules.yaml with the per-article reply limit raised (30/h would hold
back most replies at these rates; the limit is a policy, not a speed).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import (
    ROOT,
    ProcessTree,
    median,
    own_cpu_seconds,
    percentile,
    pyplot,
    save,
    table,
    texts,
)

from connectors.mock import MockServer

ARTICLES = 50


def config(tmp: Path, url: str, articles: list[tuple[int, int]], fast: float, tick: float,
           workers: str | None = None) -> Path:
    # without --workers the section is left out: the daemon's default (and older code) runs
    pipeline = "" if workers is None else ("[pipeline]\nworkers = " + (
        '"auto"' if workers == "auto" else str(int(workers))))
    rules = (ROOT / "rules.yaml").read_text(encoding="utf-8").replace(
        "article_rate_limit:            # at most 30 public replies under one article per hour\n"
        "    count: 30", "article_rate_limit:\n    count: 100000")
    assert "count: 100000" in rules
    (tmp / "rules.yaml").write_text(rules, encoding="utf-8")
    arts = "".join(f"[[accounts.articles]]\nmsg_data_id = \"{m}\"\nindex = {i}\n"
                   for m, i in articles)
    path = tmp / "dianhua.toml"
    path.write_text(f"""
[[accounts]]
name = "main"
base_url = "{url}"
discover = false
{arts}
[storage]
db = "{tmp / 'dianhua.db'}"
[rules]
path = "{tmp / 'rules.yaml'}"
[polling]
tick_seconds = {tick}
fast_seconds = {fast}
discover_minutes = 60
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
""", encoding="utf-8")
    return path


def list_calls(mock: MockServer) -> int:
    return sum(n for p, n in mock.stats.snapshot()["calls"].items() if p.endswith("comment/list"))


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in kB."""
    vals = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":")[0]
            if key in vals:
                vals[key] = int(line.split()[1])
    except OSError:
        pass
    return vals["VmRSS"], vals["VmHWM"]


def run(rate: int, seconds: float, fast: float, tick: float, drain: float,
        workers: str | None = None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"e2e{rate}_"))
    mock = MockServer(tmp / "mock.db", port=0).start()
    mock.faults.update({"webhook_per_minute": None})
    articles = [mock.state.add_article(f"通知 {i}") for i in range(ARTICLES)]
    replied: dict[tuple[int, int, int], float] = {}
    original = mock.state.add_reply

    def add_reply(msg_data_id: int, index: int, cid: int, content: str) -> None:
        original(msg_data_id, index, cid, content)
        replied.setdefault((int(msg_data_id), int(index), int(cid)), time.time())

    mock.state.add_reply = add_reply  # type: ignore[method-assign]
    cfg = config(tmp, mock.url, articles, fast, tick, workers)
    load_before = os.getloadavg()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIANHUA_")}
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(cfg)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "stderr.log", "wb"))  # noqa: SIM115
    while list_calls(mock) == 0:
        if proc.poll() is not None:
            raise SystemExit((tmp / "stderr.log").read_text())
        time.sleep(0.01)
    startup = time.time() - started
    tree = ProcessTree(proc.pid)
    bench_cpu0 = own_cpu_seconds()
    corpus = texts(int(rate * seconds) + 1, seed=rate)
    injected: dict[tuple[int, int, int], float] = {}
    done = threading.Event()

    def inject() -> None:
        t0 = time.time()
        for i, text in enumerate(corpus[: int(rate * seconds)]):
            due = t0 + i / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            mid, idx = articles[i % ARTICLES]
            cid = mock.state.add_comment(mid, idx, f"o_{i}", text)
            injected[(mid, idx, cid)] = time.time()
        done.set()

    db = tmp / "dianhua.db"
    samples: list[dict[str, float]] = []
    t_start = time.time()
    threading.Thread(target=inject, daemon=True).start()
    ro = None
    end_by = t_start + seconds + drain
    while time.time() < end_by:
        time.sleep(1.0)
        if ro is None and db.exists():
            ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        stored = processed = pending = 0
        if ro is not None:
            try:
                stored, processed, pending = ro.execute(
                    "select (select count(*) from comments), (select count(*) from comments "
                    "where state != 'new'), (select count(*) from outbox where status in "
                    "('pending','inflight'))").fetchone()
            except sqlite3.Error:
                pass
        rss, hwm = rss_kb(proc.pid)
        mem = tree.sample()
        samples.append({"tree_pss_kb": mem["pss_kb"], "t": time.time() - t_start, "injected": len(injected), "stored": stored,
                        "processed": processed, "outbox_pending": pending,
                        "backlog": len(injected) - processed, "rss_kb": rss, "hwm_kb": hwm})
        if done.is_set() and processed >= len(injected) and pending == 0:
            break
    rss, hwm = rss_kb(proc.pid)
    tree.sample()
    bench_cpu = own_cpu_seconds() - bench_cpu0
    at_end_of_injection = next((x for x in samples if x["t"] >= seconds), samples[-1] if samples
                               else {"processed": 0, "backlog": 0})
    proc.send_signal(signal.SIGTERM)
    stop_started = time.time()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:  # the poll job drains the whole backlog before it stops
        proc.kill()
        proc.wait()
    stop_s = time.time() - stop_started
    urgent = 0
    if ro is not None:
        urgent = ro.execute("select count(*) from outbox where kind = 'reply'").fetchone()[0]
        ro.close()
    calls = {"comment/list": list_calls(mock), **mock.stats.snapshot()["calls"]}
    mock.stop()
    lat = sorted((replied[k] - t_in, t_in - t_start) for k, t_in in injected.items()
                 if k in replied)
    lats = [x[0] for x in lat]
    last = samples[-1] if samples else {}
    return {
        "rate": rate, "seconds": seconds, "fast_seconds": fast, "tick_seconds": tick,
        "startup_to_first_poll_s": startup, "injected": len(injected),
        "processed": last.get("processed", 0), "reply_rows": urgent, "replied": len(lats),
        "p50_s": percentile(lats, 50), "p95_s": percentile(lats, 95),
        "p99_s": percentile(lats, 99), "max_s": max(lats, default=float("nan")),
        "max_backlog": max((s["backlog"] for s in samples), default=0),
        "final_backlog": last.get("backlog", 0), "peak_rss_mb": hwm / 1024,
        "sigterm_to_exit_s": stop_s, "calls": calls, "samples": samples,
        "latencies": [[round(t, 3), round(v, 3)] for v, t in sorted(lat, key=lambda x: x[1])],
        "tmp": str(tmp), "workers": workers,
        "processed_by_end_of_injection": at_end_of_injection["processed"],
        "backlog_at_end_of_injection": at_end_of_injection["backlog"],
        "bench_cpu_s": round(bench_cpu, 2), "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(), **tree.summary(),
    }


def plot(res: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    pts = res["latencies"]
    a1.scatter([p[0] for p in pts], [p[1] for p in pts], s=4)
    a1.set_ylabel("comment -> reply (s)")
    a1.set_title(f"{res['rate']}/s for {res['seconds']:.0f} s across {ARTICLES} articles "
                 f"(poll every {res['fast_seconds']} s): p50 {res['p50_s']:.2f} s, "
                 f"p99 {res['p99_s']:.2f} s", fontsize=9)
    s = res["samples"]
    a2.plot([x["t"] for x in s], [x["backlog"] for x in s], label="backlog (injected - processed)")
    a2.plot([x["t"] for x in s], [x["outbox_pending"] for x in s], label="outbox pending")
    a2.set_xlabel("seconds since injection started")
    a2.set_ylabel("comments")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 seconds per rate")
    ap.add_argument("--rates", default="10,100,500")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--fast-seconds", type=float, default=1.0, help="poll interval")
    ap.add_argument("--tick-seconds", type=float, default=0.2)
    ap.add_argument("--drain", type=float, default=None, help="max wait after injection")
    ap.add_argument("--workers", default=None,
                    help="[pipeline] workers: auto, 0, N (default: the daemon's own default)")
    args = ap.parse_args()
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    drain = args.drain if args.drain is not None else (30.0 if args.quick else 90.0)
    from loguru import logger

    logger.remove()
    results = []
    for rate in [int(r) for r in args.rates.split(",")]:
        res = run(rate, seconds, args.fast_seconds, args.tick_seconds, drain, args.workers)
        suffix = "_quick" if args.quick else ""
        plot(res, Path(__file__).parent / "results" / f"e2e_latency_{rate}{suffix}.png")
        results.append(res)
        save("e2e_latency" + suffix, {"results": results})  # kept even if a later rate fails
        print(f"{rate}/s: p50 {res['p50_s']:.2f} p95 {res['p95_s']:.2f} p99 {res['p99_s']:.2f}"
              f" s, backlog max {res['max_backlog']}, final {res['final_backlog']}, "
              f"at end of injection {res['backlog_at_end_of_injection']}; CPU s daemon "
              f"{res['daemon_cpu_s']} workers {res['workers_cpu_s']} bench {res['bench_cpu_s']};"
              f" peak PSS {res['peak_tree_pss_mb']} MB (RSS {res['peak_tree_rss_mb']}); start "
              f"{res['startup_to_first_poll_s']:.2f} s; load {res['loadavg_before'][0]:.1f}"
              f"/{res['loadavg_after'][0]:.1f}", flush=True)
    headers = ["rate /s", "injected", "processed", "replies", "p50 s", "p95 s", "p99 s", "max s",
               "max backlog", "backlog at end", "comment/list calls", "daemon peak RSS MB",
               "daemon+workers peak PSS MB", "daemon CPU ms/comment", "workers CPU ms/comment",
               "mock+injector CPU ms/comment", "start-up to first poll s"]
    rows = [[r["rate"], r["injected"], r["processed"], r["replied"], r["p50_s"], r["p95_s"],
             r["p99_s"], r["max_s"], r["max_backlog"], r["final_backlog"],
             r["calls"].get("comment/list", 0), r["peak_rss_mb"], r["peak_tree_pss_mb"],
             1000 * r["daemon_cpu_s"] / max(1, r["processed"]),
             1000 * r["workers_cpu_s"] / max(1, r["processed"]),
             1000 * r["bench_cpu_s"] / max(1, r["processed"]), r["startup_to_first_poll_s"]]
            for r in results]
    print(f"\npoll every {args.fast_seconds} s, tick {args.tick_seconds} s\n" + table(headers, rows))
    save("e2e_latency" + ("_quick" if args.quick else ""),
         {"results": results, "median_p50": median([r["p50_s"] for r in results])})


if __name__ == "__main__":
    main()
