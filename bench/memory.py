"""Peak resident size of the daemon after N comments, and its start-up time to the first poll.

Loads N comments (default 100,000) into the mock across 50 articles, starts ``dianhua run`` in a
subprocess against it (shipped rules, bundled model, http off), waits until every comment is
processed and reads the daemon's ``VmHWM`` (peak RSS) from ``/proc``.

    .venv/bin/python bench/memory.py                 # 100,000 comments (about 10 minutes)
    .venv/bin/python bench/memory.py --comments 5000 # a quick look

With classifier workers (issue 16) the daemon is several processes: the result also gives the
peak of their summed PSS (pages shared after the fork counted once) and summed RSS (shared
pages counted in every process), sampled every 2 seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import ProcessTree  # noqa: E402
from loguru import logger  # noqa: E402

from connectors.mock import MockServer  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _vmhwm(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--workers", default=None,
                        help="[pipeline] workers: auto, 0, N (default: the daemon's own default)")
    args = parser.parse_args()
    logger.remove()
    texts = []
    for name in ("train.jsonl", "valid.jsonl", "test.jsonl"):
        with open(ROOT / "data" / name, encoding="utf-8") as fh:
            texts.extend(json.loads(line)["text"] for line in fh)
    work = Path(tempfile.mkdtemp(prefix="dianhua-mem-"))
    mock = MockServer(work / "mock.db").start()
    try:
        arts = [mock.state.add_article(f"文章 {i}") for i in range(50)]
        mock.faults.update({"webhook_per_minute": None})
        conn = sqlite3.connect(mock.state.db_path)
        for i in range(args.comments):
            mock.state.add_comment(*arts[i % 50], f"o_{i}", texts[i % len(texts)])
        conn.close()
        cfg = work / "d.toml"
        cfg.write_text(
            f'[[accounts]]\nbase_url = "{mock.url}"\n[storage]\ndb = "{work / "d.db"}"\n'
            f'[rules]\npath = "{ROOT / "rules.yaml"}"\n[polling]\ntick_seconds = 0.2\n'
            f'[wecom]\nbase_url = "{mock.url}"\n[wecom.groups]\nduty = "k"\n'
            f'[http]\nenabled = false\n[log]\nfile = "{work / "d.jsonl"}"\nlevel = "WARNING"\n'
            + ("" if args.workers is None else "[pipeline]\nworkers = " + (
                '"auto"' if args.workers == "auto" else str(int(args.workers))) + "\n"),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIANHUA_")}
        start = time.monotonic()
        mock.stats.reset() if hasattr(mock.stats, "reset") else None
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(cfg)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        first_poll = None
        peak = 0.0
        tree = ProcessTree(proc.pid)
        done = 0
        while time.monotonic() - start < args.timeout:
            time.sleep(2)
            peak = max(peak, _vmhwm(proc.pid))
            tree.sample()
            if first_poll is None and mock.stats.snapshot()["calls"].get("/cgi-bin/comment/list"):
                first_poll = time.monotonic() - start
            if (work / "d.db").exists():
                with sqlite3.connect(f"file:{work / 'd.db'}?mode=ro", uri=True) as db:
                    try:
                        done = db.execute("select count(*) from comments where state != 'new'"
                                          ).fetchone()[0]
                    except sqlite3.Error:
                        done = 0
            print(f"\r  {done:,} / {args.comments:,} processed, peak RSS {peak:.0f} MB",
                  end="", file=sys.stderr, flush=True)
            if done >= args.comments:
                break
        elapsed = time.monotonic() - start
        peak = max(peak, _vmhwm(proc.pid))
        tree.sample()
        proc.send_signal(signal.SIGTERM)
        t = time.monotonic()
        code = proc.wait(timeout=120)
        stop_s = time.monotonic() - t
        print(file=sys.stderr)
    finally:
        mock.stop()
    result = {"command": " ".join(["bench/memory.py", *sys.argv[1:]]), "comments": args.comments,
              "loadavg_after": os.getloadavg(),
              "processed": done, "seconds": round(elapsed), "peak_rss_mb": round(peak, 1),
              "startup_to_first_poll_s": round(first_poll or -1, 2),
              "sigterm_exit_code": code, "sigterm_seconds": round(stop_s, 1), **tree.summary(),
              "workers": tree.max_workers}
    print(json.dumps(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.workers is None else f"_workers{args.workers}"
    (RESULTS / f"memory_{args.comments}{suffix}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
