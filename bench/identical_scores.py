"""Prove that a change to the classifier's code leaves every score of a model unchanged.

Scores every text of the corpus (``data/*.jsonl``, ``data/corpus/*.jsonl``,
``data/scenarios/*.jsonl`` and ``../shared/data/*.jsonl``) with this tree's code and with the
code of a base commit (unpacked with ``git archive`` into a temporary folder and run as its own
process, same venv, same model file), and compares them: urgent score and voice score within
``--tol`` (1e-12), and band, category, category score (1e-12), capped and the explanation
(``top_terms``) identical. Prints the number of texts, the largest differences and every text
that differs (none, or it exits 1).

    .venv/bin/python bench/identical_scores.py --base 10d5795 [--model PATH]
    .venv/bin/python bench/identical_scores.py --dump OUT.jsonl   # this tree's scores only
    .venv/bin/python bench/identical_scores.py --lean-vs-full [--model PATH]

``--lean-vs-full`` scores the same texts (also ``data/eval/*.jsonl``) with the lean model
(``urgent.lean.npz``, numpy only) and with the skops model's scikit-learn estimators, in this
tree, and compares them the same way.

``--write-fixture`` (re)writes ``tests/classifiers/fixture_scores.jsonl`` from this tree: a
small, fixed set of texts with the bundled model's scores, which
``tests/classifiers/test_identical_scores.py`` checks on every test run. Write it only from
code whose scores are the reference (it was written before issue 16's speed-ups).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "classifiers" / "fixture_scores.jsonl"
# Texts that exercise the corners of the feature pipeline (ties in jieba's segmentation,
# traditional characters, PII, control characters, emoji, quotes, empty and odd input).
EDGE_TEXTS = [
    "", " ", "急急急我该哭还是该笑", "啊啊啊啊啊啊啊啊啊啊啊", "哈哈哈哈哈哈", "谢谢谢谢谢谢",
    "我老婆懷孕38週了，醫院說要核酸報告，結果還沒出來，怎麼辦", "等著結果，沈默的醫院",
    "电话13800000000，老婆见红了", "138****5678 孕妇急诊进不去", "身份证110101199003071234",
    "透析病人\u200b断药了\u0007！！！", "ＡＢＣ１２３　全角字符 ｈｅｌｌｏ", "😭😭😭宝宝高烧39度",
    "“孕妇在医院门口等了两小时”，据报道", "「我媽見紅了」她说", "急救急救急救", "好的好的好的",
    "有序安排，请问什么时候出结果？", "\t\n\r", "a" * 300, "核酸" * 50, "🆔☎<PHONE><IDNUM>",
]


def corpus_texts(eval_too: bool = False) -> list[str]:
    rows: list[str] = []
    paths = (sorted((ROOT / "data").glob("*.jsonl")) + sorted((ROOT / "data" / "corpus").glob("*.jsonl"))
             + sorted((ROOT / "data" / "scenarios").glob("*.jsonl"))
             + (sorted((ROOT / "data" / "eval").glob("*.jsonl")) if eval_too else [])
             + sorted((ROOT.parent / "shared" / "data").glob("*.jsonl"))
             + sorted(Path("/work/shared/data").glob("*.jsonl")))
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                text = row.get("text") if isinstance(row, dict) else None
                if isinstance(text, str):
                    rows.append(text)
    return rows


def dump(texts: list[str], out: Path, model: str | None, full: bool = False) -> None:
    """Score ``texts`` with the code this file is run from (also from an older tree); ``full``:
    with the scikit-learn estimators even when the lean file is there."""
    sys.path.insert(0, str(Path.cwd()))
    from loguru import logger

    import classifiers
    from classifiers import load_model

    logger.remove()
    print(f"scoring {len(texts)} texts with the code in {Path(classifiers.__file__).parent}",
          file=sys.stderr)
    m = load_model(model, full=True) if full else load_model(model)
    print(f"model: {type(m).__name__}", file=sys.stderr)
    with out.open("w", encoding="utf-8") as fh:
        for text, p in zip(texts, m.predict_many(texts), strict=True):
            fh.write(json.dumps({"text": text, "score": p.score, "voice": p.voice,
                                 "band": p.band, "category": p.category,
                                 "category_score": p.category_score, "capped": p.capped,
                                 "top_terms": [list(t) for t in p.top_terms]},
                                ensure_ascii=False) + "\n")


def compare(a_path: Path, b_path: Path, tol: float) -> int:
    with a_path.open(encoding="utf-8") as fa, b_path.open(encoding="utf-8") as fb:
        a = [json.loads(x) for x in fa]
        b = [json.loads(x) for x in fb]
    if len(a) != len(b):
        print(f"different numbers of rows: {len(a)} vs {len(b)}")
        return 1
    worst = {"score": 0.0, "voice": 0.0, "category_score": 0.0}
    bad = 0
    for ra, rb in zip(a, b, strict=True):
        same = ra["text"] == rb["text"]
        for key in worst:
            va, vb = ra[key], rb[key]
            if (va is None) != (vb is None):
                same = False
                continue
            if va is not None:
                d = abs(float(va) - float(vb))
                worst[key] = max(worst[key], d)
                same = same and d <= tol
        for key in ("band", "category", "capped", "top_terms"):
            same = same and ra[key] == rb[key]
        if not same:
            bad += 1
            if bad <= 20:
                print(f"DIFFERS: {ra['text'][:60]!r}\n  base {ra}\n  this {rb}")
    print(f"{len(a)} texts; largest |difference|: score {worst['score']:.3g}, "
          f"voice {worst['voice']:.3g}, category score {worst['category_score']:.3g}; "
          f"bands, categories, caps and explanations differ on {bad}")
    return 1 if bad else 0


def write_fixture() -> None:
    texts = corpus_texts()
    pick = random.Random(16).sample(range(len(texts)), 300)
    chosen = EDGE_TEXTS + [texts[i] for i in sorted(pick)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.jsonl"
        dump(chosen, out, None)
        FIXTURE.write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {FIXTURE} ({len(chosen)} texts)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", help="the commit whose scores are the reference")
    ap.add_argument("--model", default=None, help="model file (default: the bundled one)")
    ap.add_argument("--tol", type=float, default=1e-12)
    ap.add_argument("--dump", type=Path, default=None, help="only write this tree's scores")
    ap.add_argument("--texts", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--write-fixture", action="store_true")
    ap.add_argument("--lean-vs-full", action="store_true",
                    help="compare the lean model with the skops model's estimators")
    args = ap.parse_args()
    if args.write_fixture:
        write_fixture()
        return
    if args.lean_vs_full:
        texts = EDGE_TEXTS + corpus_texts(eval_too=True)
        with tempfile.TemporaryDirectory() as tmp:
            lean, full = Path(tmp) / "lean.jsonl", Path(tmp) / "full.jsonl"
            dump(texts, lean, args.model)
            dump(texts, full, args.model, full=True)
            print(f"lean model against the skops model's estimators, model "
                  f"{args.model or 'bundled'}")
            sys.exit(compare(full, lean, args.tol))
    if args.dump is not None:
        texts = (json.loads(args.texts.read_text(encoding="utf-8")) if args.texts
                 else corpus_texts())
        dump(texts, args.dump, args.model)
        return
    if not args.base:
        ap.error("give --base COMMIT (or --dump / --write-fixture)")
    model = str(Path(args.model).resolve()) if args.model else str(
        ROOT / "classifiers" / "bundled" / "urgent.skops")
    texts = corpus_texts(eval_too=True)
    py = str(ROOT / ".venv" / "bin" / "python")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        (Path(tmp) / "texts.json").write_text(json.dumps(texts, ensure_ascii=False),
                                              encoding="utf-8")
        runs = {"base": (base, Path(tmp) / "base.jsonl"), "this": (ROOT, Path(tmp) / "this.jsonl")}
        for _name, (cwd, out) in runs.items():
            subprocess.run([py, str(Path(__file__).resolve()), "--dump", str(out), "--model",
                            model, "--texts", str(Path(tmp) / "texts.json")], cwd=cwd,
                           check=True)
        print(f"base {args.base} against this tree, model {model}")
        sys.exit(compare(runs["base"][1], runs["this"][1], args.tol))


if __name__ == "__main__":
    main()
