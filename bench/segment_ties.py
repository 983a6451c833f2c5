"""Cold processes segmenting runs with a square (the tie runs jieba cuts; issue 16).

Picks ``--n`` distinct corpus pieces holding a square (``急急急``, ``好的好的``; fixed seed 16)
and runs, in turn, whole processes that build dianhua's segmenter for the bundled user dictionary
and cut every piece, in each tree given with ``--tree`` (default: this one). Wall, CPU and peak
RSS of each finished child come from ``os.wait4``; medians of ``--runs``.

    .venv/bin/python bench/segment_ties.py [--n 2000] [--runs 3] [--tree /tmp/base --tree .]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHILD = (
    "import json, sys\n"
    "from classifiers.segment import cutter, read_userdict\n"
    "texts = json.loads(open(sys.argv[1], encoding='utf-8').read())\n"
    "cut = cutter(read_userdict())\n"
    "n = sum(len(cut(t)) for t in texts)\n"
    "print(n)\n"
)


def square_pieces(n: int) -> list[str]:
    from segment_check import all_pieces

    from classifiers.segment import SQUARE

    squares = sorted({t for t in all_pieces() if SQUARE.search(t)})
    return random.Random(16).sample(squares, min(n, len(squares)))


def run(tree: Path, texts_file: Path) -> tuple[float, float, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(tree / ".venv" / "bin" / "python"), "-c", CHILD, str(texts_file)],
                            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode().strip()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status:
        raise SystemExit(f"{tree}: the child failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tree", type=Path, action="append", default=None)
    ap.add_argument("--write-pieces", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    texts_file = Path("/tmp/dianhua_square_pieces.json")
    if args.write_pieces:
        texts_file.write_text(json.dumps(square_pieces(args.n), ensure_ascii=False),
                              encoding="utf-8")
        return
    # In a child: a child's peak RSS starts from its parent's at the fork, so this one stays small.
    subprocess.run([sys.executable, __file__, "--write-pieces", "--n", str(args.n)], check=True)
    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    print(f"{len(texts)} distinct pieces with a square -> {texts_file}")
    results: dict[Path, list[tuple[float, float, float, str]]] = {t: [] for t in trees}
    for _ in range(args.runs):
        for tree in trees:
            results[tree].append(run(tree, texts_file))
    for tree, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        rss = statistics.median(r[2] for r in rows)
        print(f"{tree}: wall {wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss:.0f} MiB "
              f"(median of {len(rows)}; {rows[0][3]} tokens)")


if __name__ == "__main__":
    main()
