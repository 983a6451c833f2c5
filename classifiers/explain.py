"""Why a score: the terms whose tf-idf × coefficient pushed the linear model up or down."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

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

    Columns that read the same (a word and the same characters) share one id. A batch is done
    with a few array operations: the contributions are summed per (row, id) in column order
    (``np.bincount``, the same additions in the same order as :func:`top_terms`), ranked per row
    by strength and then by term (the terms' sorted order is computed once), and only the head
    of each row's ranking is walked in Python to pick the terms. The result is exactly
    :func:`top_terms`'s.
    """

    def __init__(self, coef: np.ndarray, names: list[str]) -> None:
        self.coef = np.asarray(coef, dtype=float).ravel()
        ids: dict[str, int] = {}
        col_ids = np.full(len(names), -1, dtype=np.int64)
        for i, name in enumerate(names):
            if name:
                col_ids[i] = ids.setdefault(name, len(ids))
        self.col_ids = col_ids
        self.terms = list(ids)
        order = sorted(range(len(self.terms)), key=self.terms.__getitem__)
        self.term_rank = np.empty(len(self.terms), dtype=np.int64)
        self.term_rank[order] = np.arange(len(self.terms), dtype=np.int64)

    def many(
        self, x: sparse.csr_matrix, *, positive: int = 6, negative: int = 4
    ) -> list[tuple[tuple[str, float], ...]]:
        """``top_terms`` of every row of a CSR matrix."""
        x = sparse.csr_matrix(x)
        n_rows = x.shape[0]
        cols = x.indices
        ids = self.col_ids[cols]
        contrib = self.coef[cols] * x.data.astype(float)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(x.indptr))
        keep = ids >= 0
        ids, contrib, rows = ids[keep], contrib[keep], rows[keep]
        # Group by (row, id); a stable sort keeps each group's columns in their order.
        order = np.lexsort((ids, rows))
        rows, ids, contrib = rows[order], ids[order], contrib[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
        totals = np.bincount(np.cumsum(first) - 1, weights=contrib)
        g_rows, g_ids = rows[first], ids[first]
        # Strongest first, ties by term, row by row.
        ranked = np.lexsort((self.term_rank[g_ids], -np.abs(totals), g_rows))
        r_rows = g_rows[ranked]
        starts = np.searchsorted(r_rows, np.arange(n_rows + 1)).tolist()
        r_ids = g_ids[ranked].tolist()
        r_w = totals[ranked].tolist()
        terms = self.terms
        out: list[tuple[tuple[str, float], ...]] = []
        for i in range(n_rows):
            out.append(_select(
                ((terms[k], w) for k, w in zip(r_ids[starts[i]:starts[i + 1]],
                                               r_w[starts[i]:starts[i + 1]], strict=True)),
                positive, negative))
        return out


def _rank(kv: tuple[str, float]) -> tuple[float, str]:
    """Strongest first; ties by term."""
    return (-abs(kv[1]), kv[0])


def _select(
    ranked: Iterable[tuple[str, float]], positive: int, negative: int
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
