"""How a normalised text becomes terms: runs between punctuation, character n-grams, jieba words
and word n-grams, and how a term reads in an explanation.

Pure Python (no scikit-learn, no scipy), so the lean model (:mod:`classifiers.lean`) and the
scikit-learn transformers (:mod:`classifiers.features`) share one definition. Punctuation never
becomes a term (n-grams do not cross it): how many "!!!" or "，" a writer types says more about
the writer than about the need.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from bot.pii import ID_TOKEN, PHONE_TOKEN
from classifiers.segment import cutter

# The feature blocks of a dianhua model, in column order.
WORDS = "words"
CHARS = "chars"
LEXICON = "lexicon"
SITUATION = "situation"
# One character each for the PII tokens, so n-grams neither split nor learn their letters.
PII_CHARS = {PHONE_TOKEN: "☎", ID_TOKEN: "🆔"}


def is_separator(ch: str) -> bool:
    """Punctuation and whitespace: where words and n-grams stop."""
    return ch.isspace() or unicodedata.category(ch)[0] == "P"


# Punctuation → " " for str.translate; whitespace needs no entry (str.split() splits on exactly
# what str.isspace() calls space). Filled lazily, one character the first time it is seen.
_PUNCT_TABLE: dict[int, str] = {}
_SEEN: set[str] = set()
_SEEN_MAX = 200_000


def pieces(text: str) -> list[str]:
    """The runs of ``text`` between punctuation/whitespace, PII tokens as one character."""
    for token, ch in PII_CHARS.items():
        if token in text:
            text = text.replace(token, ch)
    if not _SEEN.issuperset(text):
        for ch in set(text) - _SEEN:
            if unicodedata.category(ch)[0] == "P":
                _PUNCT_TABLE[ord(ch)] = " "
            if len(_SEEN) < _SEEN_MAX:
                _SEEN.add(ch)
        if not _SEEN.issuperset(text):  # the table is full: this text the slow way
            return _pieces_slow(text)
    return text.translate(_PUNCT_TABLE).split()


def _pieces_slow(text: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for ch in text:
        if is_separator(ch):
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def runs_of(text: str, punctuation: bool) -> list[str]:
    """What the analyzers read: the whole text (``punctuation``) or its runs (:func:`pieces`)."""
    return [text] if punctuation else pieces(text)


def char_ngrams(runs: Iterable[str], ngram_range: tuple[int, int]) -> list[str]:
    """The character n-grams of each run, ``ngram_range`` = (shortest, longest)."""
    lo, hi = ngram_range
    grams: list[str] = []
    for piece in runs:
        n_chars = len(piece)
        for n in range(lo, min(hi, n_chars) + 1):
            grams += [piece[i : i + n] for i in range(n_chars - n + 1)]
    return grams


def words(runs: Iterable[str], userdict: tuple[str, ...]) -> list[str]:
    """The jieba words of each run, with ``userdict``'s words (:func:`classifiers.segment.cutter`)."""
    cut = cutter(userdict)
    out: list[str] = []
    for piece in runs:
        out += cut(piece)
    return out


def word_ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams joined by a space, as scikit-learn's ``_VectorizerMixin._word_ngrams`` makes
    them without stop words (the unigrams first, then each longer n in order)."""
    min_n, max_n = ngram_range
    if max_n == 1:
        return tokens
    n_tokens = len(tokens)
    if min_n == 1:
        out = list(tokens)
        min_n += 1
    else:
        out = []
    join = " ".join
    for n in range(min_n, min(max_n + 1, n_tokens + 1)):
        out += [join(tokens[i : i + n]) for i in range(n_tokens - n + 1)]
    return out


def remembered_columns(docs: list[list[str]], memo: dict[str, tuple[int, ...]],
                       columns: Callable[[str], tuple[int, ...]], limit: int) -> list[list[int]]:
    """Each document's columns: its runs' columns put together (n-grams never cross a run's
    ends), each distinct run analysed once by ``columns`` and remembered in ``memo``, which is
    emptied when it holds ``limit`` runs (a large memo fragments a long-lived heap)."""
    out: list[list[int]] = []
    for runs in docs:
        ids: list[int] = []
        for run in runs:
            got = memo.get(run)
            if got is None:
                if len(memo) >= limit:
                    memo.clear()
                got = memo[run] = columns(run)
            ids += got
        out.append(ids)
    return out


def readable(block: str, name: str) -> str:
    """A feature name as a person would read it: word bigrams joined, PII marks spelled out."""
    if block == WORDS:
        parts = name.split(" ")
        joined = ""
        for part in parts:
            if joined and joined[-1].isascii() and joined[-1].isalnum() and part[:1].isascii():
                joined += " "
            joined += part
        name = joined
    for token, ch in PII_CHARS.items():
        name = name.replace(ch, token)
    return name.strip()


__all__ = [
    "CHARS",
    "LEXICON",
    "PII_CHARS",
    "SITUATION",
    "WORDS",
    "char_ngrams",
    "is_separator",
    "pieces",
    "readable",
    "remembered_columns",
    "runs_of",
    "word_ngrams",
    "words",
]
