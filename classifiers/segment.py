"""jieba word segmentation as a picklable tokenizer for scikit-learn vectorizers.

:class:`JiebaTokenizer` carries the domain user dictionary *inside* the model (its lines are a
constructor parameter), so a saved model segments the same way wherever it is loaded, with or
without ``data/userdict.txt``. Each process builds one private segmenter per dictionary (never
touching jieba's global one, which other code may use).

**Speed, same tokens.** jieba is pure Python; ``rjieba`` (the Rust port, same dictionary and
algorithm) segments about 12× faster and gives jieba's tokens, except where jieba's best path
is a tie between two segmentations of equal probability (``急急急``: 急急|急 or 急|急急), which
the two break differently. A tie of that kind needs a repeated stretch of text, so
:func:`cutter` segments a text that holds a *square* (the same characters twice in a row,
``急急``, ``好的好的``) with jieba and every other text with rjieba. Proved token by token on
the whole corpus (``bench/segment_check.py``). rjieba is used only when it is installed and, for
this dictionary, passes a check: the texts of ``segment_check.json`` must give the tokens jieba
gave them (saved with the bundled user dictionary; for any other dictionary jieba segments the
same texts live). Otherwise, or with ``DIANHUA_SEGMENTER=jieba``, every text goes to jieba.

**Ties without jieba's whole dictionary.** The texts with a square are cut by jieba's own code
over a compact copy of its prefix dictionary that is read shard by shard
(:mod:`classifiers.jieba_dict`; a text needs only the entries that are substrings of it), so
jieba's ~1 s, ~80 MB dictionary load never happens. The file is keyed by jieba's version and
the user dictionary's sha256 and checked when opened; when it is missing, stale or damaged the
process loads jieba whole, as before, and writes the file for the next start
(``DIANHUA_SEGMENT_CACHE=off``: never). :data:`TIES_CHOSEN` says which way each dictionary went.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.paths import USERDICT

if TYPE_CHECKING:
    import jieba

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, ...], Any] = {}
_CUTTERS: dict[tuple[str, ...], Callable[[str], list[str]]] = {}
CHECK_FILE = Path(__file__).with_name("segment_check.json")
ENV = "DIANHUA_SEGMENTER"
# The same stretch twice in a row: where jieba's best path can be a tie (see the module doc).
SQUARE = re.compile(r"(.+)\1", re.S)
# Which segmenter each dictionary got in this process ("rjieba+jieba" or "jieba"), and why.
CHOSEN: dict[str, str] = {}
# How the texts with a square are segmented, per dictionary (compact dictionary or jieba whole).
TIES_CHOSEN: dict[str, str] = {}
_TIE_LOCK = threading.Lock()
_CLAIMED = False  # rjieba's module-level segmenter is in use (see _rust)
# Texts (runs between punctuation, mostly short and often repeated) whose words are remembered.
# Small on purpose: the entries live long among each batch's short-lived objects, and 20,000 of
# them kept ~20 MB of Python's small-object arenas from being reused or returned; the daemon
# grew with every new text until the memo was full (issue 16, docs/benchmarks.md §4b).
MEMO_TEXTS = 1_024


def read_userdict(path: str | Path | None = None) -> tuple[str, ...]:
    """The non-empty, non-comment lines of a jieba user dictionary (``word [freq] [tag]``)."""
    p = Path(path) if path is not None else USERDICT
    if not p.exists():
        return ()
    from bot.limits import read_file

    text = read_file(p).decode("utf-8", errors="replace")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def _parse(line: str) -> tuple[str, int | None, str | None]:
    parts = line.split()
    word = parts[0]
    freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    tag = parts[2] if len(parts) > 2 else None
    return word, freq, tag


def userdict_sha256(userdict: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(userdict).encode("utf-8")).hexdigest()


def segmenter(userdict: Iterable[str] = ()) -> jieba.Tokenizer:
    """A ready jieba tokenizer with ``userdict`` lines added (built once per process)."""
    key = tuple(userdict)
    tok = _CACHE.get(key)
    if tok is not None:
        return tok
    with _LOCK:
        tok = _CACHE.get(key)
        if tok is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            for line in key:
                word, freq, tag = _parse(line)
                tok.add_word(word, freq, tag)
            _CACHE[key] = tok
    return tok


def _jieba_cut(userdict: tuple[str, ...]) -> Callable[[str], list[str]]:
    def cut(text: str) -> list[str]:
        return [w for w in segmenter(userdict).lcut(text, HMM=True) if w.strip()]

    return cut


def _rust(userdict: tuple[str, ...]) -> Any:
    """An rjieba segmenter with ``userdict``'s words. rjieba builds one on import for its
    module-level functions, which dianhua never calls: the first dictionary takes that one
    (its dictionary is ~25 MB), any other gets its own."""
    global _CLAIMED
    import rjieba

    with _LOCK:
        default = getattr(rjieba, "_DEFAULT_JIEBA", None)
        if not _CLAIMED and isinstance(default, rjieba.Jieba):
            tok, _CLAIMED = default, True
        else:
            tok = rjieba.Jieba()
    for line in userdict:
        word, freq, tag = _parse(line)
        tok.add_word(word, freq, tag)
    return tok


def _check_texts(userdict: tuple[str, ...]) -> tuple[list[str], list[list[str]]]:
    """The check texts and jieba's tokens for them (saved for the bundled dictionary)."""
    saved = json.loads(CHECK_FILE.read_text(encoding="utf-8"))
    texts = [str(t) for t in saved["texts"]]
    import jieba

    if saved.get("userdict_sha256") == userdict_sha256(userdict) and saved.get(
        "jieba_version"
    ) == getattr(jieba, "__version__", None):
        return texts, [list(t) for t in saved["tokens"]]
    cut = _jieba_cut(userdict)
    return texts, [cut(t) for t in texts]


def _tie_segmenter(userdict: tuple[str, ...]) -> Callable[[str], list[str]]:
    """jieba's cut for the texts with a square: from the compact dictionary file
    (:mod:`classifiers.jieba_dict`) when it is there and sound, else jieba loaded whole (and the
    file written from it, for the next process)."""
    from classifiers import jieba_dict

    name = userdict_sha256(userdict)[:12]
    try:
        path = jieba_dict.path_for(userdict)
    except Exception as exc:  # jieba missing or broken: the slow path says so when it runs
        TIES_CHOSEN[name] = f"jieba ({type(exc).__name__}: {exc})"
        return _jieba_cut(userdict)
    if path is None:
        TIES_CHOSEN[name] = f"jieba ({jieba_dict.CACHE_ENV}=off)"
        return _jieba_cut(userdict)
    pd = jieba_dict.load(userdict, path)
    if pd is not None:
        TIES_CHOSEN[name] = f"compact dictionary {path}"
        return pd.cut
    from loguru import logger

    try:
        jieba_dict.build(userdict, path, segmenter(userdict))
        TIES_CHOSEN[name] = f"jieba (compact dictionary written to {path} for the next start)"
        logger.info("wrote the compact jieba dictionary {} (later starts skip loading jieba's "
                    "whole dictionary)", path)
    except (OSError, ValueError) as exc:
        TIES_CHOSEN[name] = f"jieba (compact dictionary not written: {exc})"
        logger.warning("could not write the compact jieba dictionary {}: {}; jieba loads its "
                       "whole dictionary in each process", path, exc)
    return _jieba_cut(userdict)


def _tie_cut(userdict: tuple[str, ...]) -> Callable[[str], list[str]]:
    """:func:`_tie_segmenter`, chosen when the first text with a square comes."""
    chosen: list[Callable[[str], list[str]]] = []

    def cut(text: str) -> list[str]:
        if not chosen:
            with _TIE_LOCK:
                if not chosen:
                    chosen.append(_tie_segmenter(userdict))
        return chosen[0](text)

    return cut


def _build(userdict: tuple[str, ...]) -> Callable[[str], list[str]]:
    name = userdict_sha256(userdict)[:12]
    slow = _jieba_cut(userdict)
    if os.environ.get(ENV, "").strip().lower() == "jieba":
        CHOSEN[name] = f"jieba ({ENV}=jieba)"
        return slow
    try:
        rust = _rust(userdict)
        texts, expected = _check_texts(userdict)
        got = [[w for w in rust.cut(t, True) if w.strip()] for t in texts]
    except Exception as exc:  # rjieba missing or broken, check file unreadable: jieba, always
        CHOSEN[name] = f"jieba (rjieba unusable: {type(exc).__name__}: {exc})"
        return slow
    differ = sum(g != e for g, e in zip(got, expected, strict=True))
    if differ or len(got) != len(expected):
        from loguru import logger

        CHOSEN[name] = f"jieba (rjieba differs from jieba on {differ} check texts)"
        logger.warning("rjieba segments {} of {} check texts differently from jieba; using "
                       "jieba (slower, same tokens as the model was trained with)", differ,
                       len(texts))
        return slow
    square = SQUARE.search
    cut_rust = rust.cut
    ties = _tie_cut(userdict)
    memo: dict[str, tuple[str, ...]] = {}

    def cut(text: str) -> list[str]:
        got = memo.get(text)
        if got is None:
            if len(memo) > MEMO_TEXTS:
                memo.clear()
            words = ties(text) if square(text) else [w for w in cut_rust(text, True) if w.strip()]
            got = memo[text] = tuple(words)
        return list(got)

    CHOSEN[name] = "rjieba+jieba"
    return cut


def cutter(userdict: Iterable[str] = ()) -> Callable[[str], list[str]]:
    """``text -> words`` exactly as jieba (HMM on, whitespace dropped) with ``userdict``."""
    key = tuple(userdict)
    fn = _CUTTERS.get(key)
    if fn is None:
        with _LOCK:
            fn = _CUTTERS.get(key)
        if fn is None:
            fn = _build(key)
            with _LOCK:
                fn = _CUTTERS.setdefault(key, fn)
    return fn


class JiebaTokenizer:
    """Callable ``text -> list of words`` (whitespace dropped) for ``TfidfVectorizer(tokenizer=)``."""

    def __init__(self, userdict: tuple[str, ...] = ()) -> None:
        self.userdict = userdict

    def __call__(self, text: str) -> list[str]:
        return cutter(self.userdict)(text)

    def __repr__(self) -> str:
        return f"JiebaTokenizer(<{len(self.userdict)} user words>)"


__all__ = ["CHECK_FILE", "ENV", "JiebaTokenizer", "SQUARE", "cutter", "read_userdict",
           "segmenter", "userdict_sha256"]
