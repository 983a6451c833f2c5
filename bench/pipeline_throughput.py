"""Throughput of the pipeline without the network, on one core, beside bare jieba.lcut.

For batches of 1, 100 and 10,000 comments (texts from data/*.jsonl): a Poller with a fake
lister stores them in a real SQLite Store, then Pipeline.process_pending classifies them (the
bundled model), evaluates rules.yaml and writes classification, traces, cases and outbox.
Same texts, same run: jieba.lcut alone and model.predict_many alone.

    .venv/bin/python bench/pipeline_throughput.py [--quick] [--reps 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import ROOT, median, one_core, pyplot, save, table, texts

one_core()

from loguru import logger  # noqa: E402

from bot.pipeline import Pipeline  # noqa: E402
from bot.poller import Poller  # noqa: E402
from bot.rules import load_rules  # noqa: E402
from bot.store import Store  # noqa: E402


class Lister:
    def __init__(self, comments: list[dict[str, Any]]) -> None:
        self.comments = comments

    def list_comments(self, msg_data_id: Any, index: int = 0, begin: int = 0, count: int = 49,
                      type: int = 0) -> Any:
        class Page:
            total = len(self.comments)
            comments = self.comments[begin:begin + count]

        return Page()


def run_pipeline(batch: list[str], batches: int, model: Any, rules: Any, tmp: Path,
                 tag: str) -> dict[str, float]:
    """``batches`` batches of ``batch``: seconds spent storing and processing."""
    store = Store(tmp / f"{tag}.db")
    pipeline = Pipeline(store, model, lambda: rules)
    now = int(time.time())
    t_store = t_process = 0.0
    for b in range(batches):
        comments = [{"user_comment_id": i + 1, "openid": f"o_{b}_{i}", "create_time": now,
                     "content": t, "comment_type": 0} for i, t in enumerate(batch)]
        lister = Lister(comments)
        # one poll stores the whole batch (the daemon caps a poll at 200 pages)
        poller = Poller(store, lambda _a, lst=lister: lst, max_pages=10_000)  # type: ignore[misc]
        article = store.article(store.watch_article("main", str(1000 + b), 0, title="通知"))
        t0 = time.perf_counter()
        poller.poll_article(article)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        while pipeline.process_pending():
            pass
        t2 = time.perf_counter()
        t_store += t1 - t0
        t_process += t2 - t1
    done = store.query("select count(*) as n from classifications")[0]["n"]
    assert done == batches * len(batch), (done, batches, len(batch))
    store.close()
    return {"store_s": t_store, "process_s": t_process}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="batches up to 1,000 (default: 1, 100, 10,000)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3)")
    args = ap.parse_args()
    reps = args.reps or 3
    sizes = [1, 100, 1_000] if args.quick else [1, 100, 10_000]
    logger.remove()  # the pipeline logs one INFO line per comment; not part of the measure

    import jieba

    from classifiers import load_model

    jieba.setLogLevel(60)
    model = load_model()
    rules = load_rules(ROOT / "rules.yaml")
    warm = texts(200, seed=99)
    jieba.lcut(warm[0])
    model.predict_many(warm)

    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for size in sizes:
            batches = max(1, min(50, 2_000 // size))
            n = size * batches
            corpus = texts(size, seed=size)
            runs: dict[str, list[float]] = {"jieba": [], "classify": [], "pipeline": [],
                                            "store": [], "process": []}
            for rep in range(reps):
                t0 = time.perf_counter()
                for _ in range(batches):
                    for t in corpus:
                        jieba.lcut(t)
                runs["jieba"].append(n / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                for _ in range(batches):
                    model.predict_many(corpus)
                runs["classify"].append(n / (time.perf_counter() - t0))
                r = run_pipeline(corpus, batches, model, rules, tmp, f"s{size}r{rep}")
                runs["pipeline"].append(n / (r["store_s"] + r["process_s"]))
                runs["store"].append(r["store_s"] / n * 1000)
                runs["process"].append(r["process_s"] / n * 1000)
            row = {"batch": size, "batches": batches, "comments": n, "reps": reps,
                   "jieba_per_s": median(runs["jieba"]),
                   "classify_per_s": median(runs["classify"]),
                   "pipeline_per_s": median(runs["pipeline"]),
                   "store_ms_per_comment": median(runs["store"]),
                   "process_ms_per_comment": median(runs["process"]),
                   "runs": runs}
            results.append(row)
            print(f"batch {size}: pipeline {row['pipeline_per_s']:,.0f}/s, "
                  f"jieba {row['jieba_per_s']:,.0f}/s", flush=True)

    headers = ["batch", "comments timed", "pipeline /s", "classify only /s", "jieba.lcut /s",
               "store ms/comment", "classify+rules+write ms/comment"]
    rows = [[r["batch"], r["comments"], r["pipeline_per_s"], r["classify_per_s"],
             r["jieba_per_s"], r["store_ms_per_comment"], r["process_ms_per_comment"]]
            for r in results]
    print(f"\nmedian of {reps} runs, one core\n" + table(headers, rows))
    name = "pipeline_throughput" + ("_quick" if args.quick else "")
    path = save(name, {"reps": reps, "results": results})

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(len(results))
    w = 0.27
    ax.bar([x - w for x in xs], [r["jieba_per_s"] for r in results], w, label="jieba.lcut")
    ax.bar(list(xs), [r["classify_per_s"] for r in results], w, label="classify only")
    ax.bar([x + w for x in xs], [r["pipeline_per_s"] for r in results], w, label="whole pipeline")
    ax.set_xticks(list(xs), [f"batch {r['batch']:,}" for r in results])
    ax.set_yscale("log")
    ax.set_ylabel("comments per second (log)")
    ax.set_title(f"Pipeline throughput, one core (median of {reps})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"), dpi=110)
    print(f"\nwrote {path} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
