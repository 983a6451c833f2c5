"""Prove that dianhua's segmenter (rjieba, jieba for texts with a square) gives jieba's tokens.

For every text of the corpus (``data/*.jsonl``, ``data/corpus/*.jsonl``,
``data/scenarios/*.jsonl``, ``../shared/data/*.jsonl``) and for the bundled model's user
dictionary (and ``data/userdict.txt`` when it differs), the pieces the word tokenizer segments
(each normalised text split at punctuation, and the raw text's pieces too) go through
:func:`classifiers.segment.cutter` and through a private ``jieba.Tokenizer`` with the same user
words, and the token lists are compared one by one. Also reports how many pieces differ between
jieba and rjieba alone (the ties the square rule sends to jieba) and the time of each.

    .venv/bin/python bench/segment_check.py            # exit 1 when any piece differs
    .venv/bin/python bench/segment_check.py --write    # rewrite classifiers/segment_check.json

``--write`` saves the check texts rjieba must pass at start-up (a fixed sample of non-square
pieces, plus every user word in a sentence) with jieba's tokens for the bundled dictionary.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from identical_scores import corpus_texts  # noqa: E402


def bundled_userdict() -> tuple[str, ...]:
    from loguru import logger

    from classifiers import load_model

    logger.remove()
    model = load_model()
    for _, step in model.urgent_pipeline[-2].transformer_list:
        tok = getattr(step, "tokenizer", None)
        if tok is not None and hasattr(tok, "userdict"):
            return tuple(tok.userdict)
    raise SystemExit("the bundled model has no word tokenizer")


def all_pieces() -> list[str]:
    from classifiers.features import pieces
    from classifiers.normalize import normalize

    out: list[str] = []
    for text in corpus_texts():
        out.extend(pieces(normalize(text)))
        out.extend(pieces(text))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="rewrite classifiers/segment_check.json")
    args = ap.parse_args()
    import jieba

    from classifiers import segment

    dicts = {"bundled model": bundled_userdict()}
    file_dict = segment.read_userdict()
    if file_dict != dicts["bundled model"]:
        dicts["data/userdict.txt"] = file_dict
    texts = all_pieces()
    print(f"{len(texts)} pieces ({len(set(texts))} distinct) from {len(corpus_texts())} texts; "
          f"jieba {jieba.__version__}")
    failed = 0
    for name, ud in dicts.items():
        slow = segment._jieba_cut(ud)
        rust = segment._rust(ud)
        fast = segment.cutter(ud)
        print(f"{name}: {len(ud)} user words, segmenter chosen: "
              f"{segment.CHOSEN[segment.userdict_sha256(ud)[:12]]}")
        t0 = time.process_time()
        want = [slow(t) for t in texts]
        t1 = time.process_time()
        got = [fast(t) for t in texts]
        t2 = time.process_time()
        rust_only = [[w for w in rust.cut(t, True) if w.strip()] for t in texts]
        t3 = time.process_time()
        ties = sum(a != b for a, b in zip(want, rust_only, strict=True))
        bad = [(t, a, b) for t, a, b in zip(texts, want, got, strict=True) if a != b]
        squares = sum(1 for t in texts if segment.SQUARE.search(t))
        print(f"  jieba {t1 - t0:.2f} s CPU, dianhua's segmenter {t2 - t1:.2f} s, rjieba alone "
              f"{t3 - t2:.2f} s; pieces with a square (to jieba): {squares}")
        print(f"  rjieba alone differs from jieba on {ties} pieces; dianhua's segmenter on "
              f"{len(bad)}")
        print(f"  pieces with a square cut by: "
              f"{segment.TIES_CHOSEN.get(segment.userdict_sha256(ud)[:12], 'none came')}")
        for t, a, b in bad[:20]:
            print(f"  DIFFERS {t!r}: jieba {a} ours {b}")
        failed += len(bad)
    if args.write:
        ud = dicts["bundled model"]
        slow = segment._jieba_cut(ud)
        plain = sorted({t for t in texts if not segment.SQUARE.search(t)})
        sample = random.Random(16).sample(plain, min(400, len(plain)))
        words = [segment._parse(line)[0] for line in ud]
        check = sample + [f"我们{w}的问题" for w in words]
        check = [t for t in check if not segment.SQUARE.search(t)]
        data = {"jieba_version": jieba.__version__, "userdict_sha256": segment.userdict_sha256(ud), "texts": check,
                "tokens": [slow(t) for t in check]}
        segment.CHECK_FILE.write_text(json.dumps(data, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
        print(f"wrote {segment.CHECK_FILE} ({len(check)} check texts)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
