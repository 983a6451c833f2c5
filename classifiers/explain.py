"""Why a score: the terms whose tf-idf × coefficient pushed the linear model up or down."""

from __future__ import annotations

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
    ranked = sorted(totals.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
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


__all__ = ["feature_names", "top_terms"]
