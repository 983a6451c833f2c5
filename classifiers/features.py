"""The feature pipeline: normalise → jieba words ∪ character n-grams ∪ lexicon groups ∪ situation.

Both vectorizers use sublinear tf and ``min_df`` so single-writer quirks do not become
features; character n-grams carry typos, homophones, pinyin and emoji that word
segmentation misses. Punctuation never becomes a feature (n-grams do not cross it):
how many "!!!" or "，" a writer types says more about the writer than about the need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from classifiers.lexicon import GROUPS, group_counts
from classifiers.lexicon import LABELS as LEXICON_LABELS
from classifiers.normalize import normalize
from classifiers.situation import LABELS as SITUATION_LABELS
from classifiers.situation import N_FEATURES, situation_row
from classifiers.terms import (
    CHARS,
    LEXICON,
    SITUATION,
    WORDS,
    char_ngrams,
    is_separator,
    pieces,
    readable,
    remembered_columns,
)
from classifiers.terms import words as word_tokens


class CharNgrams:
    """Callable analyzer: character n-grams of each run between punctuation."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), punctuation: bool = False) -> None:
        self.ngram_range = ngram_range
        self.punctuation = punctuation

    def __call__(self, text: str) -> list[str]:
        return self.of_pieces([text] if self.punctuation else pieces(text))

    def of_pieces(self, runs: list[str]) -> list[str]:
        """The n-grams of already split runs (what ``self(text)`` does after splitting)."""
        return char_ngrams(runs, self.ngram_range)

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
        return word_tokens(runs, self.userdict)

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


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """Stateless: one ``log1p(count)`` column per :data:`classifiers.lexicon.GROUPS` entry (text
    already normalised).

    A word is counted once where it occurs; where two group words overlap (孕妇 and 孕) the
    longer one counts.
    """

    def fit(self, X: Iterable[str], y: Any = None) -> LexiconFeatures:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless

    def transform(self, X: Iterable[str]) -> sparse.csr_matrix:
        rows = [group_counts(text) for text in X]
        data = np.log1p(np.asarray(rows, dtype=np.float32).reshape(-1, len(GROUPS)))
        return sparse.csr_matrix(data, dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([LEXICON_LABELS[name] for name in GROUPS], dtype=object)


class SituationFeatures(TransformerMixin, BaseEstimator):
    """Stateless: the situation/voice groups and their interactions (:mod:`classifiers.situation`)."""

    def fit(self, X: Iterable[str], y: Any = None) -> SituationFeatures:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless

    def transform(self, X: Iterable[str]) -> sparse.csr_matrix:
        rows = [situation_row(text) for text in X]
        data = np.asarray(rows, dtype=np.float32).reshape(-1, N_FEATURES)
        return sparse.csr_matrix(data, dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(list(SITUATION_LABELS.values()), dtype=object)


# Model files (skops, pickle) name a type by its module: these two were defined in
# classifiers/lexicon.py and classifiers/situation.py, whose word lists and counting now need no
# scikit-learn (the lean model reads them); those modules hand these classes out by name.
LexiconFeatures.__module__ = "classifiers.lexicon"
SituationFeatures.__module__ = "classifiers.situation"


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
        get = vec.vocabulary_.get

        def columns(run: str) -> tuple[int, ...]:
            return tuple([i for i in map(get, analyzer.of_pieces([run]), repeat(-1)) if i >= 0])

        return remembered_columns(docs, self._memo.setdefault(id(vec), {}), columns, MEMO_RUNS)


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


__all__ = [
    "CHARS",
    "LEXICON",
    "SITUATION",
    "WORDS",
    "CharNgrams",
    "CompactTfidfVectorizer",
    "FastFeatures",
    "FeatureParams",
    "LexiconFeatures",
    "Normalizer",
    "SituationFeatures",
    "WordTokens",
    "build_features",
    "is_separator",
    "pieces",
    "readable",
]
