"""``dianhua classify`` as a whole process against bare ``jieba.lcut`` on the same texts.

Issue 16's acceptance ratio: the whole ``dianhua classify --input FILE --output OUT`` process
(start-up, imports, model load, normalising, segmenting, vectorizing, the heads, writing JSONL)
against a whole process that reads the same JSONL and calls ``jieba.lcut`` on every text (import
jieba, its dictionary from jieba's cache, nothing else). The texts: every comment of
``data/*.jsonl`` and ``data/corpus/*.jsonl``, shuffled with a fixed seed and repeated to ``--n``
(20,000 by default), written once to ``--input``.

The two commands run in turn, A B A B …, after one warm-up each (the machine is shared; a pair
sees the same load), and the ratio is taken pair by pair. Wall and CPU (user + sys) seconds and
peak RSS come from the kernel's accounting of each finished child (``os.wait4``). The command
lines are printed, so they can be re-run with ``/usr/bin/time -v`` or ``hyperfine``.

    .venv/bin/python bench/classify_vs_jieba.py [--n 20000] [--pairs 5] [--print-only]
    .venv/bin/python bench/classify_vs_jieba.py --jieba-only FILE   # the bare-jieba process
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = Path("/tmp/dianhua_bench_20k.jsonl")


def corpus_texts() -> list[str]:
    """Every text of data/*.jsonl and data/corpus/*.jsonl, in file order."""
    rows: list[str] = []
    for path in sorted((ROOT / "data").glob("*.jsonl")) + sorted(
        (ROOT / "data" / "corpus").glob("*.jsonl")
    ):
        with path.open(encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh if line.strip())
    return rows


def write_input(path: Path, n: int, seed: int = 16) -> None:
    rows = corpus_texts()
    random.Random(seed).shuffle(rows)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": i, "text": rows[i % len(rows)]}, ensure_ascii=False) + "\n")


def jieba_only(path: Path) -> None:
    """The bare-jieba process: read the JSONL, ``jieba.lcut`` each text (default dictionary)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    n = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                n += len(jieba.lcut(json.loads(line)["text"]))
    print(f"{n} tokens", file=sys.stderr)


def run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one whole process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="texts in the input file")
    ap.add_argument("--pairs", type=int, default=5, help="counted A/B pairs (after one warm-up)")
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    ap.add_argument("--output", type=Path, default=Path("/tmp/dianhua_bench_20k.out.jsonl"))
    ap.add_argument("--print-only", action="store_true", help="write the input, print the commands")
    ap.add_argument("--jieba-only", type=Path, default=None, metavar="FILE",
                    help="be the bare-jieba process on FILE")
    args = ap.parse_args()
    if args.jieba_only is not None:
        jieba_only(args.jieba_only)
        return
    write_input(args.input, args.n)
    py = str(ROOT / ".venv" / "bin" / "python")
    classify = [py, "-m", "bot.cli", "classify", "--input", str(args.input),
                "--output", str(args.output)]
    bare = [py, str(Path(__file__).resolve()), "--jieba-only", str(args.input)]
    print(f"A (classify): {shlex.join(classify)}")
    print(f"B (bare jieba): {shlex.join(bare)}")
    if args.print_only:
        return
    run(classify), run(bare)  # warm-up: page cache, jieba's cache file
    rows = []
    for i in range(args.pairs):
        a, b = run(classify), run(bare)
        rows.append((a, b))
        print(f"pair {i + 1}: A {a[0]:.2f} s wall {a[1]:.2f} s CPU {a[2]:.0f} MiB | "
              f"B {b[0]:.2f} s wall {b[1]:.2f} s CPU {b[2]:.0f} MiB | "
              f"A/B wall {a[0] / b[0]:.2f} CPU {a[1] / b[1]:.2f}", flush=True)

    def med(values: list[float]) -> float:
        s = sorted(values)
        m = len(s) // 2
        return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2

    wall = [a[0] / b[0] for a, b in rows]
    cpu = [a[1] / b[1] for a, b in rows]
    print(f"A/B wall: median {med(wall):.2f} (min {min(wall):.2f}, max {max(wall):.2f}); "
          f"CPU: median {med(cpu):.2f} (min {min(cpu):.2f}, max {max(cpu):.2f}); "
          f"A peak RSS median {med([a[2] for a, _ in rows]):.0f} MiB, "
          f"B {med([b[2] for _, b in rows]):.0f} MiB")


if __name__ == "__main__":
    main()
