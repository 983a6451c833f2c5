"""Why a score: the terms whose tf-idf × coefficient pushed the linear model up or down."""

from __future__ import annotations

import heapq
from collections import defaultdict

import numpy as np
from scipy import sparse
from sklearn.pipeline import FeatureUnion

from classifiers.features import readable


def feature_names(union: FeatureUnion) -> list[str]:
    """Readable names for every column of a fitted feature union, in column order."""
    names: list[str] = []
    for block, step in union.transformer_list:
        vocab = getattr(step, "vocabulary_", None)
        if vocab is None:
            names.extend(str(n) for n in step.get_feature_names_out())
            continue
        col = [""] * len(vocab)
        for term, idx in vocab.items():
            col[int(idx)] = readable(block, term)
        names.extend(col)
    return names


class Explainer:
    """:func:`top_terms` for many rows against one coefficient vector, names grouped once.

    Columns that read the same (a word and the same characters) share one id; a row's terms
    are ranked by a partial sort of its 32 strongest, falling back to a full sort when those
    do not fill both lists. The result is exactly :func:`top_terms`'s.
    """

    HEAD = 32

    def __init__(self, coef: np.ndarray, names: list[str]) -> None:
        self.coef = np.asarray(coef, dtype=float).ravel()
        ids: dict[str, int] = {}
        col_ids = np.full(len(names), -1, dtype=np.int64)
        for i, name in enumerate(names):
            if name:
                col_ids[i] = ids.setdefault(name, len(ids))
        self.col_ids = col_ids
        self.terms = list(ids)

    def many(
        self, x: sparse.csr_matrix, *, positive: int = 6, negative: int = 4
    ) -> list[tuple[tuple[str, float], ...]]:
        """``top_terms`` of every row of a CSR matrix."""
        x = sparse.csr_matrix(x)
        ptr = x.indptr.tolist()
        contrib = (self.coef[x.indices] * x.data.astype(float)).tolist()
        ids = self.col_ids[x.indices].tolist()
        terms = self.terms
        out: list[tuple[tuple[str, float], ...]] = []
        for i in range(x.shape[0]):
            totals: dict[int, float] = {}
            for j in range(ptr[i], ptr[i + 1]):
                k = ids[j]
                if k >= 0:
                    totals[k] = totals.get(k, 0.0) + contrib[j]
            items = [(terms[k], w) for k, w in totals.items()]
            picked: tuple[tuple[str, float], ...] = ()
            if len(items) > self.HEAD:
                picked = _select(heapq.nsmallest(self.HEAD, items, key=_rank), positive, negative)
            if len(picked) < positive + negative:
                picked = _select(sorted(items, key=_rank), positive, negative)
            out.append(picked)
        return out


def _rank(kv: tuple[str, float]) -> tuple[float, str]:
    """Strongest first; ties by term."""
    return (-abs(kv[1]), kv[0])


def _select(
    ranked: list[tuple[str, float]], positive: int, negative: int
) -> tuple[tuple[str, float], ...]:
    picked: list[tuple[str, float]] = []
    left = {True: positive, False: negative}
    for term, weight in ranked:
        if weight == 0.0:
            continue
        sign = weight > 0
        if left[sign] <= 0:
            continue
        if any((w > 0) == sign and (term in t or t in term) for t, w in picked):
            continue
        picked.append((term, round(weight, 4)))
        left[sign] -= 1
        if not left[True] and not left[False]:
            break
    return tuple(picked)


def top_terms(
    row: sparse.csr_matrix | sparse.csr_array,
    coef: np.ndarray,
    names: list[str],
    *,
    positive: int = 6,
    negative: int = 4,
) -> tuple[tuple[str, float], ...]:
    """The strongest terms of one feature row: up to ``positive`` up and ``negative`` down.

    Contributions of features that read the same (a word and the same characters) are added;
    a term is skipped when a stronger term of the same sign already contains it or is
    contained in it, so ``透析`` does not come back as ``透`` and ``析``.
    """
    r = sparse.csr_matrix(row)
    totals: dict[str, float] = defaultdict(float)
    for idx, val in zip(r.indices, r.data, strict=True):
        name = names[int(idx)]
        if name:
            totals[name] += float(coef[int(idx)]) * float(val)
    ranked = sorted(totals.items(), key=_rank)
    return _select(ranked, positive, negative)


__all__ = ["Explainer", "feature_names", "top_terms"]
