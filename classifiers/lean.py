"""The urgent-request model scored with numpy alone, from its lean file.

:class:`LeanModel` reads ``urgent.lean.npz`` (:mod:`classifiers.lean_file`) and computes what
:class:`classifiers.model.UrgencyModel` computes with scikit-learn, operation for operation, so
the scores are the same to the last bit (tested on the whole corpus): normalise, split at
punctuation, count each block's terms for the whole batch, sublinear tf × idf and the row's L2
norm in the vectorizer's dtype, the block weights, then each head's dot product as one
``np.bincount`` over the batch's entries (the same additions in the same order as scipy's sparse
product), the calibrator, the softmax. Importing it imports neither scikit-learn nor scipy, which
is most of a process's start-up; the fitted estimators are loaded from the skops file only when
something asks for them (:attr:`LeanModel.urgent_pipeline` and friends: refitting, plots of the
pipeline, :func:`classifiers.persist.save_model`).
"""

from __future__ import annotations

from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from bot.errors import ModelError
from classifiers import lean_file
from classifiers.base import ModelBase, Terms, expit
from classifiers.explain import Explainer
from classifiers.lexicon import GROUPS, group_counts
from classifiers.lexicon import LABELS as LEXICON_LABELS
from classifiers.normalize import normalize
from classifiers.situation import LABELS as SITUATION_LABELS
from classifiers.situation import situation_row
from classifiers.terms import char_ngrams, pieces, remembered_columns, word_ngrams, words

if TYPE_CHECKING:
    from classifiers.model import UrgencyModel

# Runs (text between punctuation) whose columns are remembered, per character block. Small on
# purpose, like features.MEMO_RUNS: a large memo of long-lived entries fragments the heap.
MEMO_RUNS = 1_024


class Rows(NamedTuple):
    """A batch's feature matrix in CSR form (what :class:`classifiers.explain.Explainer` reads),
    with each entry's row, and the heads' linear parts (``x @ heads``, one column per head
    output: urgent, voice when there is one, then the category head's)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    rows: np.ndarray
    shape: tuple[int, int]
    dots: tuple[np.ndarray, ...] = ()


class _Block:
    """One feature block: its kind, columns and how its values are made."""

    def __init__(self, spec: dict[str, Any], arrays: dict[str, np.ndarray], i: int) -> None:
        self.kind = str(spec["kind"])
        self.n = int(spec["n"])
        weight = spec.get("weight")
        self.weight = None if weight is None else float(weight)
        self.vocab: dict[str, int] = {}
        if self.kind in ("words", "chars"):
            terms = lean_file.terms_of(arrays, i)
            if len(terms) != self.n:
                raise ModelError(f"block {spec['name']}: {len(terms)} terms, {self.n} columns")
            self.vocab = {t: j for j, t in enumerate(terms)}
            self.idf = arrays[f"idf_{i}"]
            self.dtype = np.dtype(str(spec["dtype"]))
            self.sublinear = bool(spec["sublinear_tf"])
            self.norm = spec["norm"]
            lo, hi = (int(v) for v in spec["ngram_range"])
            self.ngram_range = (lo, hi)
            self.punctuation = bool(spec["punctuation"])
            self.userdict = tuple(str(w) for w in spec.get("userdict", ()))
            self.memo: dict[str, tuple[int, ...]] = {}
        else:  # stateless: the code's own groups; they must be the ones the model was fitted on
            labels = [str(v) for v in spec["labels"]]
            code = ([LEXICON_LABELS[g] for g in GROUPS] if self.kind == "lexicon"
                    else list(SITUATION_LABELS.values()))
            if labels != code:
                raise ModelError(f"block {spec['name']}: the model's {self.kind} columns are not "
                                 "this code's (retrain with `dianhua train`)")

    def values(self, norm: list[str], runs: list[list[str]]) -> tuple[np.ndarray, ...]:
        """``(rows, columns, values)`` of this block's non-zero entries, in row-major order."""
        if self.kind == "lexicon":
            dense = np.log1p(np.asarray([group_counts(t) for t in norm],
                                        dtype=np.float32).reshape(-1, self.n))
            return self._sparse(dense)
        if self.kind == "situation":
            dense = np.asarray([situation_row(t) for t in norm],
                               dtype=np.float32).reshape(-1, self.n)
            return self._sparse(dense)
        docs = self._char_ids(runs) if self.kind == "chars" else self._word_ids(runs)
        return self._tfidf(docs)

    def _sparse(self, dense: np.ndarray) -> tuple[np.ndarray, ...]:
        r, c = np.nonzero(dense)  # what scipy.sparse.csr_matrix(dense) keeps, in its order
        return self._weighted(r, c, dense[r, c])

    def _weighted(self, r: np.ndarray, c: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
        if self.weight is not None:
            v = v * self.weight  # as FeatureUnion weighs a block (in the block's dtype)
        return r.astype(np.int64), c.astype(np.int64), v

    def _word_ids(self, runs: list[list[str]]) -> list[list[int]]:
        get, lo_hi, userdict = self.vocab.get, self.ngram_range, self.userdict
        return [[i for i in map(get, word_ngrams(words(r, userdict), lo_hi), repeat(-1)) if i >= 0]
                for r in runs]

    def _char_ids(self, docs: list[list[str]]) -> list[list[int]]:
        """Each document's in-vocabulary n-gram columns, each distinct run analysed once."""
        get, lo_hi = self.vocab.get, self.ngram_range

        def columns(run: str) -> tuple[int, ...]:
            return tuple([i for i in map(get, char_ngrams((run,), lo_hi), repeat(-1)) if i >= 0])

        return remembered_columns(docs, self.memo, columns, MEMO_RUNS)

    def _tfidf(self, docs: list[list[int]]) -> tuple[np.ndarray, ...]:
        """``TfidfVectorizer.transform`` of documents given as their terms' columns."""
        n_terms = max(self.n, 1)
        flat = np.fromiter(chain.from_iterable(docs), dtype=np.int64)
        rows = np.repeat(np.arange(len(docs), dtype=np.int64), [len(d) for d in docs])
        keys, counts = np.unique(rows * n_terms + flat, return_counts=True)
        r, c = keys // n_terms, keys % n_terms
        data = counts.astype(self.dtype)
        if self.sublinear:
            np.log(data, data)
            data += 1.0
        data *= self.idf[c]
        if self.norm == "l2" and len(data):
            # sklearn's inplace_csr_row_normalize_l2: squares in the data's dtype, summed in
            # double in column order, each value divided in double and stored in the dtype.
            sums = np.bincount(r, weights=(data * data).astype(np.float64), minlength=len(docs))
            norms = np.sqrt(sums)[r]
            keep = norms == 0.0
            scaled = (data.astype(np.float64) / np.where(keep, 1.0, norms)).astype(self.dtype)
            data = np.where(keep, data, scaled)
        return self._weighted(r, c, data)


def dot(x: Rows, w: np.ndarray) -> np.ndarray:
    """``x @ w`` (``w``: features × columns) as scipy's sparse product computes it.

    scipy's ``csr_matvec(s)`` adds each row's products ``data[j] * w[indices[j]]`` one by one in
    column order, from 0, in the common dtype of ``x`` and ``w`` (float32 for heads fitted on
    float32 features: then every partial sum is rounded to float32, and no numpy reduction
    adds in that order). Here the products are laid out position by position: the rows sorted
    longest first, the ``p``-th entries of the rows that have one form a contiguous block, and
    the blocks are added to the running sums in turn, ``p = 0, 1, …``. Each (row, column) sum
    therefore gets exactly scipy's additions in scipy's order, in the same dtype.
    """
    n, k = x.shape[0], w.shape[1]
    dtype = np.result_type(x.data.dtype, w.dtype)
    out = np.zeros((n, k), dtype=dtype)
    nnz = len(x.data)
    if nnz == 0:
        return out
    lengths = np.diff(x.indptr)
    order = np.argsort(-lengths, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    longest = int(lengths.max())
    # have[p]: how many rows have a p-th entry; start[p]: where the p-th entries begin
    have = n - np.cumsum(np.bincount(lengths, minlength=longest + 1))[:longest]
    start = np.zeros(longest + 1, dtype=np.int64)
    np.cumsum(have, out=start[1:])
    pos = np.arange(nnz, dtype=np.int64) - x.indptr[x.rows]
    packed = np.empty((nnz, k), dtype=dtype)
    packed[start[pos] + rank[x.rows]] = (x.data.astype(dtype)[:, None]
                                         * w[x.indices].astype(dtype, copy=False))
    acc = np.zeros((n, k), dtype=dtype)  # in rank order
    bounds = start.tolist()
    counts = have.tolist()
    for p in range(longest):
        m = counts[p]
        acc[:m] += packed[bounds[p] : bounds[p] + m]
    return acc[rank]


class LeanModel(ModelBase):
    """The urgent, category and voice heads from a lean file (see the module doc).

    Build one with :func:`classifiers.load_model` (which checks the file against the card) or
    :meth:`from_arrays`. ``path`` is the skops file the lean file was exported from: the fitted
    estimators are loaded from it on first use of :attr:`urgent_pipeline`,
    :attr:`category_model`, :attr:`voice_model` or :meth:`full`.
    """

    def __init__(self, arrays: dict[str, np.ndarray], card: dict[str, Any],
                 path: Path | None = None) -> None:
        super().__init__(card)
        lean_file.check(arrays)
        meta = lean_file.meta_of(arrays)
        self._path = path
        self._full_model: UrgencyModel | None = None
        self._arrays = arrays
        self._blocks = [_Block(spec, arrays, i) for i, spec in enumerate(meta["blocks"])]
        self._offsets = np.cumsum([0] + [b.n for b in self._blocks])[:-1].tolist()
        self.n_features = int(meta["n_features"])
        urgent = meta["urgent"]
        self._urgent_w = np.ascontiguousarray(arrays["urgent_coef"].T)  # (features, 1)
        self._urgent_b = arrays["urgent_intercept"]
        self._bound = float(urgent["bound"])
        self._calibration = str(urgent["calibration"])
        if self._calibration == "sigmoid":
            self._sigmoid = (arrays["urgent_sigmoid"][0], arrays["urgent_sigmoid"][1])
        else:
            self._iso = (arrays["urgent_isotonic_x"], arrays["urgent_isotonic_y"],
                         arrays["urgent_isotonic_bounds"])
        self._classes = [str(c) for c in meta["categories"]]
        self._cat_wt = np.ascontiguousarray(arrays["category_coef"].T)  # (features, classes)
        self._cat_b = arrays["category_intercept"]
        self._voice_w: np.ndarray | None = None
        self._voice_b: Any = 0.0
        if meta["voice"]:
            self._voice_w = np.ascontiguousarray(arrays["voice_coef"].T)
            self._voice_b = arrays["voice_intercept"]
        self._explainer: Explainer | None = None

    # -- the heads ----------------------------------------------------------------------------
    @property
    def categories(self) -> list[str]:
        return list(self._classes)

    @property
    def has_voice(self) -> bool:
        return self._voice_w is not None

    def _transform(self, clean: list[str]) -> Rows:
        norm = [normalize(t) for t in clean]
        split: dict[bool, list[list[str]]] = {}
        rows, cols, vals = [], [], []
        for block, offset in zip(self._blocks, self._offsets, strict=True):
            runs: list[list[str]] = []
            if block.kind in ("words", "chars"):
                if block.punctuation not in split:
                    split[block.punctuation] = [[t] if block.punctuation else pieces(t)
                                                for t in norm]
                runs = split[block.punctuation]
            r, c, v = block.values(norm, runs)
            rows.append(r)
            cols.append(c + offset)
            vals.append(v)
        n = len(norm)
        r_all = np.concatenate(rows)
        order = np.argsort(r_all, kind="stable")  # row by row, blocks in column order
        r_all = r_all[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r_all, minlength=n), out=indptr[1:])
        data = np.concatenate(vals)[order]  # every block's dtype is float32: the union's too
        x = Rows(indptr, np.concatenate(cols)[order], data, r_all, (n, self.n_features))
        return x._replace(dots=self._dots(x))

    def _dots(self, x: Rows) -> tuple[np.ndarray, ...]:
        """Each head's ``x @ coef.T`` (urgent, voice, category), heads of one dtype (all of them,
        for one fit's features) in one pass of :func:`dot`."""
        heads = [self._urgent_w, self._cat_wt]
        if self._voice_w is not None:
            heads.append(self._voice_w)
        out: list[np.ndarray] = [np.zeros(0)] * len(heads)
        for dtype in {h.dtype for h in heads}:
            which = [i for i, h in enumerate(heads) if h.dtype == dtype]
            both = dot(x, np.hstack([heads[i] for i in which]))
            edges = np.cumsum([0] + [heads[i].shape[1] for i in which]).tolist()
            for i, lo, hi in zip(which, edges[:-1], edges[1:], strict=True):
                out[i] = both[:, lo:hi]
        return tuple(out)

    def _urgent(self, x: Rows) -> np.ndarray:
        # WriterCalibratedClassifier: the linear decision in float64, the calibrator, the bound
        z = np.asarray(x.dots[0][:, 0] + self._urgent_b, dtype=float)
        if self._calibration == "sigmoid":
            a, b = self._sigmoid
            p = expit(-(a * z + b))
        else:
            xs, ys, (lo, hi) = self._iso
            t = np.clip(z, lo, hi)
            p = ys.repeat(t.shape) if len(ys) == 1 else np.interp(t, xs, ys)
            p = np.asarray(p).astype(t.dtype)
        return np.clip(np.asarray(p, dtype=float), self._bound, 1.0 - self._bound)

    def _voice(self, x: Rows) -> np.ndarray | None:
        if self._voice_w is None:
            return None
        return np.asarray(expit(x.dots[2][:, 0] + self._voice_b), dtype=float)

    def _category_proba(self, x: Rows) -> np.ndarray:
        z = x.dots[1] + self._cat_b  # LogisticRegression.decision_function
        if len(self._classes) == 2:  # a binary head: sklearn's _predict_proba_lr
            p = expit(z[:, 0])
            return np.stack([1 - p, p], axis=1)
        # sklearn.utils.extmath.softmax, step for step, in the decision's dtype
        z -= np.max(z, axis=1).reshape(-1, 1)
        np.exp(z, out=z)
        z /= np.sum(z, axis=1).reshape(-1, 1)
        return z

    def _top_terms(self, x: Rows) -> list[Terms]:
        if self._explainer is None:
            a = self._arrays
            self._explainer = Explainer.from_parts(
                self._urgent_w[:, 0], a["explain_col_ids"], lean_file.explain_terms_of(a),
                a["explain_term_rank"])
        return self._explainer.many(x)

    # -- the fitted estimators, on demand -----------------------------------------------------
    def full(self) -> UrgencyModel:
        """The same model with its scikit-learn estimators (loaded from the skops file once)."""
        if self._full_model is None:
            if self._path is None:
                raise ModelError("this lean model has no skops file to load the estimators from")
            from classifiers.persist import load_model

            full = load_model(self._path, full=True)
            assert not isinstance(full, LeanModel)
            self._full_model = full
        return self._full_model

    @property
    def urgent_pipeline(self) -> Any:
        return self.full().urgent_pipeline

    @property
    def category_model(self) -> Any:
        return self.full().category_model

    @property
    def voice_model(self) -> Any:
        return self.full().voice_model


__all__ = ["MEMO_RUNS", "LeanModel", "Rows"]
