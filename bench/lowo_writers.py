"""Leave-one-writer-out: how the model does on a corpus writer it has never read.

For each held-out writer (corpus part, e.g. ``cj``): train with the project's own
:func:`classifiers.train.train` on the training rows of every *other* writer, with thresholds
and the voice cut chosen on the validation rows of the other writers, then score the held-out
writer's training rows (the rows it was never fitted or tuned on). Pooled over the held-out
writers it reports:

* review recall and auto recall on urgent rows,
* the share of news / official-voice and retelling / quote / commentary negatives
  (``classifiers.evaluate.NEWS_TAGS`` ∪ ``REPORTED_TAGS``, urgent = 0) at ``auto``, with the
  voice cap (the shipped band rule) and without it (score ≥ auto alone),
* average precision.

This is the round-4 knob procedure (docs/training.md, "Round 4") as a script. Slow: one full
training per writer (several minutes each on a shared machine).

    .venv/bin/python bench/lowo_writers.py --writers cj ck cl cm --out /tmp/lowo.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchlib import ROOT

from classifiers.dataset import Example, read_jsonl, writer_of
from classifiers.evaluate import NEWS_TAGS, REPORTED_TAGS
from classifiers.metrics import average_precision
from classifiers.train import TrainParams, train

VOICE_NEG_TAGS = NEWS_TAGS | REPORTED_TAGS


def _write(rows: list[Example], path: Path) -> None:
    path.write_text("".join(r.to_json() + "\n" for r in rows), encoding="utf-8")


def one_writer(writer: str, data: Path, params: TrainParams) -> dict[str, Any]:
    split = {n: read_jsonl(data / f"{n}.jsonl", need_category=True)[0]
             for n in ("train", "valid")}
    held = [r for r in split["train"] if writer_of(r.id) == writer]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _write([r for r in split["train"] if writer_of(r.id) != writer], d / "train.jsonl")
        _write([r for r in split["valid"] if writer_of(r.id) != writer], d / "valid.jsonl")
        _write([r for r in split["valid"] if writer_of(r.id) != writer], d / "test.jsonl")
        for f in ("userdict.txt",):
            if (data / f).is_file():
                (d / f).write_text((data / f).read_text(encoding="utf-8"), encoding="utf-8")
        model = train(d, None, params=params, progress=lambda _m: None).model
    scores, _voice, capped = model.assess([r.text for r in held])
    th = model.thresholds
    rows = []
    for r, s, c in zip(held, scores, capped, strict=True):
        rows.append({"id": r.id, "urgent": r.urgent, "score": float(s), "capped": bool(c),
                     "voice_neg": r.urgent == 0 and not VOICE_NEG_TAGS.isdisjoint(r.tags)})
    return {"writer": writer, "thresholds": th, "voice_cut": model.voice_cut, "rows": rows}


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    urg = [(r, res["thresholds"]) for res in results for r in res["rows"] if r["urgent"]]
    neg = [(r, res["thresholds"]) for res in results for r in res["rows"] if r["voice_neg"]]

    def share(pairs: list[tuple[dict[str, Any], dict[str, float]]], key: str,
              cap: bool) -> float | None:
        if not pairs:
            return None
        hit = [r["score"] >= th[key] and not (cap and key == "auto" and r["capped"])
               for r, th in pairs]
        return round(sum(hit) / len(hit), 4)

    y = [r["urgent"] for res in results for r in res["rows"]]
    s = [r["score"] for res in results for r in res["rows"]]
    return {
        "urgent": len(urg),
        "voice_negatives": len(neg),
        "review_recall": share(urg, "review", True),
        "auto_recall_capped": share(urg, "auto", True),
        "auto_recall_uncapped": share(urg, "auto", False),
        "voice_neg_at_auto_capped": share(neg, "auto", True),
        "voice_neg_at_auto_uncapped": share(neg, "auto", False),
        "voice_neg_at_review": share(neg, "review", True),
        "ap": round(average_precision(y, s), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--writers", nargs="+", default=["cj", "ck", "cl", "cm"])
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--out", type=Path, default=None, help="write per-writer and pooled JSON")
    args = ap.parse_args()
    from loguru import logger

    logger.remove()
    results = []
    for w in args.writers:
        res = one_writer(w, args.data, TrainParams())
        one = pooled([res])
        print(f"{w}: {json.dumps(one, ensure_ascii=False)}", flush=True)
        results.append(res)
        if args.out:  # after every writer, so a long run can be read as it goes
            args.out.with_suffix(".partial.json").write_text(
                json.dumps(results, ensure_ascii=False) + "\n", encoding="utf-8")
    total = pooled(results)
    print(f"pooled {'+'.join(args.writers)}: {json.dumps(total, ensure_ascii=False)}")
    if args.out:
        args.out.write_text(json.dumps({"per_writer": {r["writer"]: pooled([r]) for r in results},
                                        "pooled": total, "runs": results},
                                       ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
