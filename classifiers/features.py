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
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from bot.pii import ID_TOKEN, PHONE_TOKEN
from classifiers.lexicon import LexiconFeatures
from classifiers.normalize import normalize
from classifiers.segment import JiebaTokenizer
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


def pieces(text: str) -> list[str]:
    """The runs of ``text`` between punctuation/whitespace, PII tokens as one character."""
    for token, ch in _PII_CHARS.items():
        text = text.replace(token, ch)
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
        lo, hi = self.ngram_range
        grams: list[str] = []
        for piece in [text] if self.punctuation else pieces(text):
            n_chars = len(piece)
            for n in range(lo, min(hi, n_chars) + 1):
                grams.extend(piece[i : i + n] for i in range(n_chars - n + 1))
        return grams

    def __repr__(self) -> str:
        return f"CharNgrams({self.ngram_range})"


class WordTokens:
    """Callable tokenizer: jieba words of each run between punctuation."""

    def __init__(self, userdict: tuple[str, ...] = (), punctuation: bool = False) -> None:
        self.userdict = userdict
        self.punctuation = punctuation

    def __call__(self, text: str) -> list[str]:
        seg = JiebaTokenizer(self.userdict)
        words: list[str] = []
        for piece in [text] if self.punctuation else pieces(text):
            words.extend(seg(piece))
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
    "FeatureParams",
    "Normalizer",
    "WordTokens",
    "build_features",
    "pieces",
    "readable",
]
