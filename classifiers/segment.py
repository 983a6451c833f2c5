"""jieba word segmentation as a picklable tokenizer for scikit-learn vectorizers.

:class:`JiebaTokenizer` carries the domain user dictionary *inside* the model (its lines are a
constructor parameter), so a saved model segments the same way wherever it is loaded, with or
without ``data/userdict.txt``. Each process builds one private ``jieba.Tokenizer`` per
dictionary (never touching jieba's global one, which other code may use).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba

from classifiers.paths import USERDICT

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, ...], jieba.Tokenizer] = {}

jieba.setLogLevel(logging.WARNING)


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


def segmenter(userdict: Iterable[str] = ()) -> jieba.Tokenizer:
    """A ready jieba tokenizer with ``userdict`` lines added (built once per process)."""
    key = tuple(userdict)
    tok = _CACHE.get(key)
    if tok is not None:
        return tok
    with _LOCK:
        tok = _CACHE.get(key)
        if tok is None:
            tok = jieba.Tokenizer()
            tok.initialize()
            for line in key:
                word, freq, tag = _parse(line)
                tok.add_word(word, freq, tag)
            _CACHE[key] = tok
    return tok


class JiebaTokenizer:
    """Callable ``text -> list of words`` (whitespace dropped) for ``TfidfVectorizer(tokenizer=)``."""

    def __init__(self, userdict: tuple[str, ...] = ()) -> None:
        self.userdict = userdict

    def __call__(self, text: str) -> list[str]:
        tok = segmenter(self.userdict)
        return [w for w in tok.lcut(text, HMM=True) if w.strip()]

    def __repr__(self) -> str:
        return f"JiebaTokenizer(<{len(self.userdict)} user words>)"


__all__ = ["JiebaTokenizer", "read_userdict", "segmenter"]
