"""The feature pipeline: normalise → jieba words ∪ character n-grams ∪ lexicon groups ∪ situation.

Both vectorizers use sublinear tf and ``min_df`` so single-writer quirks do not become
features; character n-grams carry typos, homophones, pinyin and emoji that word
segmentation misses. Punctuation never becomes a feature (n-grams do not cross it):
how many "!!!" or "，" a writer types says more about the writer than about the need.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from bot.pii import ID_TOKEN, PHONE_TOKEN
from classifiers.lexicon import LexiconFeatures
from classifiers.normalize import normalize
from classifiers.segment import cutter
from classifiers.situation import SituationFeatures

WORDS = "words"
CHARS = "chars"
LEXICON = "lexicon"
SITUATION = "situation"
# One character each for the PII tokens, so n-grams neither split nor learn their letters.
_PII_CHARS = {PHONE_TOKEN: "☎", ID_TOKEN: "🆔"}


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
    for token, ch in _PII_CHARS.items():
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


class CharNgrams:
    """Callable analyzer: character n-grams of each run between punctuation."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), punctuation: bool = False) -> None:
        self.ngram_range = ngram_range
        self.punctuation = punctuation

    def __call__(self, text: str) -> list[str]:
        return self.of_pieces([text] if self.punctuation else pieces(text))

    def of_pieces(self, runs: list[str]) -> list[str]:
        """The n-grams of already split runs (what ``self(text)`` does after splitting)."""
        lo, hi = self.ngram_range
        grams: list[str] = []
        for piece in runs:
            n_chars = len(piece)
            for n in range(lo, min(hi, n_chars) + 1):
                grams += [piece[i : i + n] for i in range(n_chars - n + 1)]
        return grams

    def __repr__(self) -> str:
        return f"CharNgrams({self.ngram_range})"


class WordTokens:
    """Callable tokenizer: jieba words of each run between punctuation."""

    def __init__(self, userdict: tuple[str, ...] = (), punctuation: bool = False) -> None:
        self.userdict = userdict
        self.punctuation = punctuation

    def __call__(self, text: str) -> list[str]:
        return self.of_pieces([text] if self.punctuation else pieces(text))

    def of_pieces(self, runs: list[str]) -> list[str]:
        """The words of already split runs (what ``self(text)`` does after splitting)."""
        cut = cutter(self.userdict)
        words: list[str] = []
        for piece in runs:
            words += cut(piece)
        return words

    def __repr__(self) -> str:
        return f"WordTokens(<{len(self.userdict)} user words>)"


class CompactTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` whose saved state keeps the vocabulary as one string array.

    skops stores a dict entry by entry, which makes a 20,000-term vocabulary slow to load;
    one numpy array loads in milliseconds. Behaviour is exactly ``TfidfVectorizer``'s.
    """

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        vocab = state.pop("vocabulary_", None)
        if vocab is not None:
            terms = [""] * len(vocab)
            for term, idx in vocab.items():
                terms[int(idx)] = term
            state["vocabulary_terms_"] = np.array(terms, dtype=str)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        terms = state.pop("vocabulary_terms_", None)
        if terms is not None:
            state["vocabulary_"] = {str(t): i for i, t in enumerate(terms.tolist())}
        super().__setstate__(state)


class Normalizer(TransformerMixin, BaseEstimator):
    """Stateless step: each text through :func:`classifiers.normalize.normalize`."""

    def fit(self, X: Iterable[str], y: Any = None) -> Normalizer:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless

    def transform(self, X: Iterable[str]) -> list[str]:
        return [normalize(t if isinstance(t, str) else "") for t in X]


@dataclass(frozen=True)
class FeatureParams:
    """Knobs of the feature union (recorded in the model card)."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 3)
    min_df: int = 2
    max_features: int = 60000
    punctuation: bool = False
    lexicon: bool = True
    lexicon_weight: float = 0.1
    situation: bool = True
    situation_weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_features(userdict: tuple[str, ...], params: FeatureParams) -> FeatureUnion:
    """An unfitted FeatureUnion of word and character tf-idf (and lexicon groups)."""
    words = CompactTfidfVectorizer(
        tokenizer=WordTokens(userdict, params.punctuation),
        token_pattern=None,
        lowercase=False,
        ngram_range=params.word_ngrams,
        min_df=params.min_df,
        max_features=params.max_features // 2,
        sublinear_tf=True,
        dtype=np.float32,
    )
    chars = CompactTfidfVectorizer(
        analyzer=CharNgrams(params.char_ngrams, params.punctuation),
        lowercase=False,
        min_df=params.min_df,
        max_features=params.max_features // 2,
        sublinear_tf=True,
        dtype=np.float32,
    )
    parts: list[tuple[str, Any]] = [(WORDS, words), (CHARS, chars)]
    weights: dict[str, float] = {}
    if params.lexicon:
        parts.append((LEXICON, LexiconFeatures()))
        weights[LEXICON] = params.lexicon_weight
    if params.situation:
        parts.append((SITUATION, SituationFeatures()))
        weights[SITUATION] = params.situation_weight
    return FeatureUnion(parts, transformer_weights=weights or None)


class FastFeatures:
    """A fitted ``Normalizer`` → ``FeatureUnion`` pipeline, computed with shared work.

    ``Pipeline.transform`` normalises each text once but then every block starts again from the
    text: the word and character vectorizers each split it at punctuation, and each counts its
    terms one by one in Python. Here each text is normalised and split once, the words and
    character n-grams come from the same runs, and each vectorizer's terms are counted for the
    whole batch with a few array operations. The counts go through the vectorizer's own tf-idf
    step and each block is weighted and stacked as ``FeatureUnion`` does, so the matrix is the
    same, value for value (tested against ``Pipeline.transform``).

    :meth:`of` returns ``None`` for a pipeline of another shape (anything but the blocks
    :func:`build_features` makes); callers then use ``Pipeline.transform``.
    """

    def __init__(self, blocks: list[tuple[str, Any, Any, float | None]]) -> None:
        self.blocks = blocks  # (kind, transformer, analyzer, weight)
        self._memo: dict[int, dict[str, tuple[int, ...]]] = {}

    @classmethod
    def of(cls, features: Any) -> FastFeatures | None:
        steps = getattr(features, "steps", None)
        if not steps or len(steps) != 2:
            return None
        norm, union = steps[0][1], steps[1][1]
        if type(norm) is not Normalizer or type(union) is not FeatureUnion:
            return None
        if union.n_jobs not in (None, 1):
            return None
        weights = union.transformer_weights or {}
        blocks: list[tuple[str, Any, Any, float | None]] = []
        for name, trans in union.transformer_list:
            weight = weights.get(name)
            if isinstance(trans, str):
                return None  # "drop" / "passthrough"
            if type(trans) in (LexiconFeatures, SituationFeatures):
                blocks.append(("text", trans, None, weight))
            elif type(trans) in (CompactTfidfVectorizer, TfidfVectorizer) and _plain(trans):
                if isinstance(trans.analyzer, CharNgrams):
                    blocks.append(("chars", trans, trans.analyzer, weight))
                elif trans.analyzer == "word" and isinstance(trans.tokenizer, WordTokens):
                    blocks.append(("words", trans, trans.tokenizer, weight))
                else:
                    return None
            else:
                return None
        return cls(blocks) if blocks else None

    def transform(self, texts: Iterable[str]) -> Any:
        norm = [normalize(t if isinstance(t, str) else "") for t in texts]
        split: dict[bool, list[list[str]]] = {}

        def runs(punctuation: bool) -> list[list[str]]:
            if punctuation not in split:
                split[punctuation] = [[t] if punctuation else pieces(t) for t in norm]
            return split[punctuation]

        out = []
        for kind, trans, analyzer, weight in self.blocks:
            if kind == "text":
                res = trans.transform(norm)
            elif kind == "chars":
                res = _counted(trans, self._char_ids(trans, analyzer, runs(analyzer.punctuation)))
            else:
                ngrams = trans._word_ngrams
                get = trans.vocabulary_.get
                res = _counted(trans, [
                    [i for i in map(get, ngrams(analyzer.of_pieces(r)), repeat(-1)) if i >= 0]
                    for r in runs(analyzer.punctuation)
                ])
            out.append(res if weight is None else res * weight)
        return sparse.hstack(out).tocsr()

    def _char_ids(self, vec: TfidfVectorizer, analyzer: CharNgrams,
                  docs: list[list[str]]) -> list[list[int]]:
        """Each document's in-vocabulary n-gram columns, each distinct run analysed once.

        N-grams never cross a run's ends, so a document's n-grams are its runs' n-grams put
        together; a run seen before (in this batch or a recent one) is not analysed again.
        """
        memo = self._memo.setdefault(id(vec), {})
        get = vec.vocabulary_.get
        out: list[list[int]] = []
        for runs in docs:
            ids: list[int] = []
            for run in runs:
                got = memo.get(run)
                if got is None:
                    if len(memo) >= MEMO_RUNS:
                        memo.clear()
                    got = memo[run] = tuple(
                        [i for i in map(get, analyzer.of_pieces([run]), repeat(-1)) if i >= 0])
                ids += got
            out.append(ids)
        return out


# Runs (text between punctuation) whose columns FastFeatures remembers, per vectorizer. Small
# on purpose, like segment.MEMO_TEXTS: a large memo fragments the Python heap (issue 16).
MEMO_RUNS = 1_024


def _plain(vec: TfidfVectorizer) -> bool:
    """A vectorizer whose analysis is only its tokenizer/analyzer (no preprocessing, decoding,
    stop words or lower-casing), as :func:`build_features` makes them."""
    return (vec.input == "content" and vec.preprocessor is None and not vec.lowercase
            and vec.strip_accents is None and vec.stop_words is None
            and hasattr(vec, "vocabulary_") and hasattr(vec, "_tfidf"))


def _counted(vec: TfidfVectorizer, docs: list[list[int]]) -> Any:
    """``vec.transform`` of documents given as their terms' columns (out-of-vocabulary terms
    left out): the count matrix ``CountVectorizer`` builds, then the vectorizer's tf-idf."""
    n_docs = len(docs)
    n_terms = len(vec.vocabulary_)
    flat = np.fromiter(chain.from_iterable(docs), dtype=np.int64)
    rows = np.repeat(np.arange(n_docs, dtype=np.int64), [len(doc) for doc in docs])
    keys, counts = np.unique(rows * n_terms + flat, return_counts=True)
    indptr = np.searchsorted(keys // n_terms, np.arange(n_docs + 1, dtype=np.int64))
    index_dtype = np.int32 if len(keys) <= np.iinfo(np.int32).max else np.int64
    x = sparse.csr_array(
        (counts.astype(np.intc), (keys % n_terms).astype(index_dtype), indptr.astype(index_dtype)),
        shape=(n_docs, n_terms), dtype=vec.dtype,
    )
    if vec.binary:
        x.data.fill(1)
    return vec._tfidf.transform(x, copy=False)


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
    for token, ch in _PII_CHARS.items():
        name = name.replace(ch, token)
    return name.strip()


__all__ = [
    "CHARS",
    "LEXICON",
    "SITUATION",
    "WORDS",
    "CharNgrams",
    "CompactTfidfVectorizer",
    "FastFeatures",
    "FeatureParams",
    "Normalizer",
    "WordTokens",
    "build_features",
    "pieces",
    "readable",
]
