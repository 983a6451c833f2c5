"""Shared helpers for the benchmarks: texts, the machine, results, tables, plots."""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def one_core() -> None:
    """Pin this process to one CPU and keep BLAS single-threaded (call before numpy loads)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def texts(n: int, seed: int = 5) -> list[str]:
    """``n`` comment texts from data/*.jsonl, shuffled, repeated as needed."""
    rows: list[str] = []
    for name in ("train.jsonl", "valid.jsonl", "test.jsonl"):
        with open(ROOT / "data" / name, encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh if line.strip())
    random.Random(seed).shuffle(rows)
    return [rows[i % len(rows)] for i in range(n)]


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (its threads included), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_kb(pid: int) -> dict[str, int]:
    out = {"Pss": 0, "Rss": 0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key = line.split(":")[0]
            if key in out:
                out[key] = int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["HWM"] = int(line.split()[1])
    except OSError:
        pass
    return out


class ProcessTree:
    """CPU and memory of a daemon and the worker processes it forks, sampled from /proc.

    ``sample()`` records, per process ever seen, its last CPU time and the peak of the tree's
    summed PSS (proportional set size: pages shared after the fork are counted once, split
    between the processes that share them) and summed RSS (shared pages counted once per
    process: an upper bound).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu: dict[int, float] = {}
        self.peak_pss_kb = 0
        self.peak_rss_kb = 0
        self.peak_hwm_kb = 0  # the daemon's own VmHWM
        self.max_workers = 0

    def sample(self) -> dict[str, float]:
        pids = [self.pid, *sorted(_children(self.pid))]
        self.max_workers = max(self.max_workers, len(pids) - 1)
        pss = rss = 0
        for p in pids:
            cpu = _cpu_seconds(p)
            if cpu:
                self.cpu[p] = max(cpu, self.cpu.get(p, 0.0))
            mem = _memory_kb(p)
            pss += mem["Pss"]
            rss += mem["Rss"]
            if p == self.pid:
                self.peak_hwm_kb = max(self.peak_hwm_kb, mem.get("HWM", 0))
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        return {"pss_kb": pss, "rss_kb": rss, "processes": len(pids)}

    def summary(self) -> dict[str, Any]:
        return {"daemon_cpu_s": round(self.cpu.get(self.pid, 0.0), 2),
                "workers_cpu_s": round(sum(v for p, v in self.cpu.items() if p != self.pid), 2),
                "worker_pids_seen": len(self.cpu) - 1 if self.cpu else 0,
                "peak_tree_pss_mb": round(self.peak_pss_kb / 1024, 1),
                "peak_tree_rss_mb": round(self.peak_rss_kb / 1024, 1),
                "daemon_peak_rss_mb": round(self.peak_hwm_kb / 1024, 1)}


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the benchmark: the mock server and the injector)."""
    return _cpu_seconds(os.getpid())


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return float(ordered[k])


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"benchmark": name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([".venv/bin/python", *sys.argv]), "machine": machine(), **data}
    path.write_text(json.dumps(_rounded(data), ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    return path


def _rounded(value: Any, digits: int = 6) -> Any:
    """Floats to ``digits`` decimals: shorter files, and no long digit runs that read like
    phone numbers to the personal-data checks."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    return value


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
