"""Split a round of real sentences into the dev half (trained on) and the held-out half, by page.

    python3 data/eval/split_pages.py ROUND_DIR PREFIX CORPUS_PART

ROUND_DIR holds ``real-news.jsonl`` and ``real-help.jsonl`` as the collectors wrote them (fields
id, text, urgent, category, tags, source, page). Each page's rows go to one half by
``sha256("dianhua-realpages:" + page) mod 2`` (0: dev, 1: held out), the rule of round 5, fixed
before any score was seen. Page ids get ``PREFIX`` so they never meet another round's. The rows
are appended to ``data/eval/real-{news,help}-{dev,heldout}.jsonl``, and the dev rows also to
CORPUS_PART (e.g. ``data/corpus/part-t.jsonl``) with the tags ``real`` and ``sit:page-<page>``
(a page stays in one training split), as part r holds round 5's. Sentences already in
``data/eval`` (same text without punctuation) are skipped; a clashing id stops the script.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent


def half(page: str) -> str:
    digest = hashlib.sha256(("dianhua-realpages:" + page).encode("utf-8")).hexdigest()
    return "dev" if int(digest, 16) % 2 == 0 else "heldout"


def key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text))


def read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def corpus_row(row: dict) -> dict:
    tags = ["real", *[t for t in row.get("tags", []) if t != "real"], f"sit:page-{row['page']}"]
    return {"id": row["id"], "text": row["text"], "urgent": int(row["urgent"]),
            "category": row["category"], "tags": tags, "source": row.get("source", "")}


def main(round_dir: str, prefix: str, corpus_part: str) -> None:
    src = Path(round_dir)
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    for path in HERE.glob("real-*.jsonl"):
        for row in read(path):
            seen_ids.add(row["id"])
            seen_texts.add(key(row["text"]))
    counts: dict[str, int] = {}
    corpus: list[dict] = []
    for kind in ("news", "help"):
        out: dict[str, list[dict]] = {"dev": [], "heldout": []}
        for row in read(src / f"real-{kind}.jsonl"):
            if row["id"] in seen_ids:
                raise SystemExit(f"{src}/real-{kind}.jsonl: id {row['id']} is already in data/eval")
            if key(row["text"]) in seen_texts:
                continue  # the same sentence from another page or round
            seen_texts.add(key(row["text"]))
            row["page"] = prefix + str(row["page"])
            out[half(row["page"])].append(row)
        for name, rows in out.items():
            path = HERE / f"real-{kind}-{name}.jsonl"
            with path.open("a", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            if name == "dev":
                corpus += [corpus_row(r) for r in rows]
            counts[f"{kind}-{name}"] = len(rows)
            counts[f"{kind}-{name}-pages"] = len({r["page"] for r in rows})
            counts[f"{kind}-{name}-urgent"] = sum(int(r["urgent"]) for r in rows)
    with Path(corpus_part).open("a", encoding="utf-8") as fh:
        for row in corpus:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(json.dumps(counts, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
