"""Classifier throughput on one core: ``predict_many`` (score, band, category, explanation).

Texts: the round 1–3 corpus files (``data/corpus/part-[a-i].jsonl``, fixed since round 3, so
runs before and after a change read the same 6,707 comments), shuffled with a fixed seed and
repeated as needed. ``--model`` compares another model file with the same texts. Besides
comments per wall-clock second it reports comments per CPU-second of this process, which other
work on a shared machine disturbs less.

    .venv/bin/python bench/classify_throughput.py [--model PATH] [--n 10000] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from benchlib import ROOT, median, one_core, save, table

one_core()

FIXED_PARTS = "abcdefghi"


def fixed_texts(n: int, seed: int = 5) -> list[str]:
    rows: list[str] = []
    for part in FIXED_PARTS:
        with open(ROOT / "data" / "corpus" / f"part-{part}.jsonl", encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh if line.strip())
    random.Random(seed).shuffle(rows)
    return [rows[i % len(rows)] for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="model file (default: bundled)")
    ap.add_argument("--n", type=int, default=10_000, help="comments per repetition")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--name", default="classify_throughput", help="results file name")
    args = ap.parse_args()

    from loguru import logger

    from classifiers import load_model

    logger.remove()
    model = load_model(args.model)
    corpus = fixed_texts(args.n)
    model.predict_many(corpus[:300])  # warm jieba and OpenCC tables
    results = []
    for batch in (1, 256):
        n = min(args.n, 1_000) if batch == 1 else args.n
        runs, cpu_runs = [], []
        for _ in range(args.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            if batch == 1:
                for t in corpus[:n]:
                    model.predict(t)
            else:
                model.predict_many(corpus[:n], batch_size=batch)
            runs.append(n / (time.perf_counter() - t0))
            cpu_runs.append(n / (time.process_time() - c0))
        results.append({"batch": batch, "comments": n, "per_s": median(runs), "runs": runs,
                        "per_cpu_s": median(cpu_runs), "cpu_runs": cpu_runs})
    print(f"model {model.version}, median of {args.reps} runs, one core")
    print(table(["batch", "comments timed", "classify /s (wall)", "classify per CPU-second"],
                [[r["batch"], r["comments"], r["per_s"], r["per_cpu_s"]] for r in results]))
    path = save(args.name, {"model": model.version, "reps": args.reps, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
