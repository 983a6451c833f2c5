"""Why a score: the terms whose tf-idf × coefficient pushed the linear model up or down."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.terms import readable

if TYPE_CHECKING:
    from sklearn.pipeline import FeatureUnion


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

    @classmethod
    def from_parts(cls, coef: np.ndarray, col_ids: np.ndarray, terms: list[str],
                   term_rank: np.ndarray) -> Explainer:
        """An explainer from a saved one's :attr:`col_ids`, :attr:`terms` and
        :attr:`term_rank` (the lean file keeps them: grouping 50,000 names takes a while)."""
        self = cls.__new__(cls)
        self.coef = np.asarray(coef, dtype=float).ravel()
        self.col_ids = np.asarray(col_ids, dtype=np.int64)
        self.terms = list(terms)
        self.term_rank = np.asarray(term_rank, dtype=np.int64)
        if not (len(self.col_ids) == len(self.coef) and len(self.term_rank) == len(self.terms)
                and int(self.col_ids.max(initial=-1)) < len(self.terms)):
            raise ValueError("the explainer's parts do not fit together")
        return self

    def many(
        self, x: Any, *, positive: int = 6, negative: int = 4
    ) -> list[tuple[tuple[str, float], ...]]:
        """``top_terms`` of every row of a CSR matrix (anything with CSR's ``indptr``,
        ``indices``, ``data`` and ``shape``, e.g. :class:`classifiers.lean.Rows`)."""
        if not all(hasattr(x, a) for a in ("indptr", "indices", "data", "shape")):
            from scipy import sparse

            x = sparse.csr_matrix(x)
        n_rows = x.shape[0]
        cols = x.indices
        ids = self.col_ids[cols]
        contrib = self.coef[cols] * x.data.astype(float)
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(x.indptr))
        keep = ids >= 0
        ids, contrib, rows = ids[keep], contrib[keep], rows[keep]
        # Group by (row, id); a stable sort keeps each group's columns in their order.
        order = np.argsort(rows * len(self.terms) + ids, kind="stable")
        rows, ids, contrib = rows[order], ids[order], contrib[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
        totals = np.bincount(np.cumsum(first) - 1, weights=contrib)
        g_rows, g_ids = rows[first], ids[first]
        # Zero contributions are never shown. Each row's positive terms, then its negative
        # ones (a NaN counts as negative, as in _select), each strongest first, ties by term.
        nonzero = totals != 0.0
        g_rows, g_ids, totals = g_rows[nonzero], g_ids[nonzero], totals[nonzero]
        negative_side = ~(totals > 0)
        segment = g_rows * 2 + negative_side
        ranked = np.lexsort((self.term_rank[g_ids], -np.abs(totals), segment))
        segment = segment[ranked]
        starts = np.searchsorted(segment, np.arange(2 * n_rows + 1)).tolist()
        r_ids = g_ids[ranked].tolist()
        r_w = totals[ranked].tolist()
        terms = self.terms
        out: list[tuple[tuple[str, float], ...]] = []
        for i in range(n_rows):
            # _select's picks of one sign never depend on the other sign's, so each side is
            # walked on its own until it is full; the picks are then put back in rank order.
            ups = _pick(terms, r_ids, r_w, starts[2 * i], starts[2 * i + 1], positive)
            downs = _pick(terms, r_ids, r_w, starts[2 * i + 1], starts[2 * i + 2], negative)
            both = sorted(ups + downs) if ups and downs else ups or downs  # _rank's order
            out.append(tuple([(t, round(w, 4)) for _, t, w in both]))
        return out


def _pick(terms: list[str], ids: list[int], weights: list[float], start: int, end: int,
          room: int) -> list[tuple[float, str, float]]:
    """Up to ``room`` terms of one sign, in rank order, none inside another picked one, each as
    ``(-|weight|, term, weight)`` (so plain tuple order is :func:`_rank`'s)."""
    picked: list[tuple[float, str, float]] = []
    if room <= 0:
        return picked
    for j in range(start, end):
        term = terms[ids[j]]
        clash = False
        for _, t, _ in picked:
            if term in t or t in term:
                clash = True
                break
        if not clash:
            w = weights[j]
            picked.append((-abs(w), term, w))
            if len(picked) >= room:
                break
    return picked


def _rank(kv: tuple[str, float]) -> tuple[float, str]:
    """Strongest first; ties by term."""
    return (-abs(kv[1]), kv[0])


def _select(
    ranked: Iterable[tuple[str, float]], positive: int, negative: int
) -> tuple[tuple[str, float], ...]:
    picked: list[tuple[str, float]] = []
    ups: list[str] = []  # the terms picked so far, by sign
    downs: list[str] = []
    for term, weight in ranked:
        if weight == 0.0:
            continue
        if weight > 0:
            same, room = ups, positive
        else:
            same, room = downs, negative
        if len(same) >= room:
            continue
        clash = False
        for t in same:
            if term in t or t in term:
                clash = True
                break
        if clash:
            continue
        picked.append((term, round(weight, 4)))
        same.append(term)
        if len(ups) >= positive and len(downs) >= negative:
            break
    return tuple(picked)


def top_terms(
    row: Any,
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
    from scipy import sparse

    r = sparse.csr_matrix(row)
    totals: dict[str, float] = defaultdict(float)
    for idx, val in zip(r.indices, r.data, strict=True):
        name = names[int(idx)]
        if name:
            totals[name] += float(coef[int(idx)]) * float(val)
    ranked = sorted(totals.items(), key=_rank)
    return _select(ranked, positive, negative)


__all__ = ["Explainer", "feature_names", "top_terms"]
