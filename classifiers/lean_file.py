"""The lean file: every fitted array scoring needs, beside the skops file, in a format that
holds no code.

``urgent.lean.npz`` (a numpy ``.npz``, read with ``allow_pickle=False``) holds, for a model
:func:`classifiers.train.train` makes: each feature block in column order (word and character
tf-idf: vocabulary, idf, sublinear tf, norm, n-gram range, punctuation, the user dictionary;
lexicon and situation: their column labels and weights), the urgent head's coefficients,
intercept and calibrator (sigmoid ``a``, ``b`` or isotonic thresholds, and the bound), the
category head's coefficients, intercepts and classes, the voice head's coefficients and
intercept, and the explanations' readable names (grouped as
:class:`classifiers.explain.Explainer` groups them). Strings are stored as UTF-8 JSON in
``uint8`` arrays; numbers as numpy arrays of the estimators' own dtypes, so scoring from them
gives the estimators' results to the last bit (:mod:`classifiers.lean`).

:func:`export` reads a fitted :class:`classifiers.model.UrgencyModel` (it needs scikit-learn's
objects, not scikit-learn's code); :func:`write` saves it; :func:`read` loads and checks one
without importing scikit-learn or scipy. The card pins the file by sha256
(:mod:`classifiers.persist`), and the file names the skops file it was exported from.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.errors import ModelError

if TYPE_CHECKING:
    from classifiers.model import UrgencyModel

FORMAT = 1
KIND = "dianhua-lean-model"
SUFFIX = ".lean.npz"
# The tf-idf settings scoring reproduces; anything else is not exported (the skops file serves).
_NORMS = ("l2", None)


class LeanUnsupported(ModelError):
    """The model's shape is not one the lean file describes (the skops file still serves)."""


def lean_path_for(model_path: Path) -> Path:
    """``…/urgent.skops`` → ``…/urgent.lean.npz`` (beside the model)."""
    name = model_path.name
    stem = name[: -len(".skops")] if name.endswith(".skops") else model_path.stem
    return model_path.with_name(stem + SUFFIX)


def _text(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _untext(arr: np.ndarray) -> Any:
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ModelError("a text member is not UTF-8 bytes")
    return json.loads(arr.tobytes().decode("utf-8"))


def _terms(vec: Any) -> list[str]:
    vocab = vec.vocabulary_
    terms = [""] * len(vocab)
    for term, idx in vocab.items():
        terms[int(idx)] = str(term)
    return terms


def export(model: UrgencyModel, model_sha256: str) -> dict[str, np.ndarray]:
    """The lean file's members for ``model`` (:class:`LeanUnsupported` for another shape)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from classifiers.calibration import WriterCalibratedClassifier
    from classifiers.explain import Explainer, feature_names
    from classifiers.features import (
        CharNgrams,
        FastFeatures,
        LexiconFeatures,
        SituationFeatures,
        WordTokens,
    )

    pipe = model.urgent_pipeline
    features = pipe[:-1]
    if FastFeatures.of(features) is None:
        raise LeanUnsupported("the feature pipeline is not the shape dianhua train builds")
    union = features[-1]
    weights = union.transformer_weights or {}
    arrays: dict[str, np.ndarray] = {}
    blocks: list[dict[str, Any]] = []
    for name, trans in union.transformer_list:
        weight = weights.get(name)
        block: dict[str, Any] = {"name": name,
                                 "weight": None if weight is None else float(weight)}
        if isinstance(trans, LexiconFeatures | SituationFeatures):
            block["kind"] = "lexicon" if isinstance(trans, LexiconFeatures) else "situation"
            block["labels"] = [str(n) for n in trans.get_feature_names_out()]
            block["n"] = len(block["labels"])
        elif isinstance(trans, TfidfVectorizer):
            if trans.norm not in _NORMS or not trans.use_idf or trans.binary:
                raise LeanUnsupported(f"{name}: tf-idf settings the lean file does not describe")
            if np.dtype(trans.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
                raise LeanUnsupported(f"{name}: dtype {trans.dtype}")
            idf = np.asarray(trans.idf_)
            terms = _terms(trans)
            block.update({"n": len(terms), "sublinear_tf": bool(trans.sublinear_tf),
                          "norm": trans.norm, "dtype": np.dtype(trans.dtype).name,
                          "ngram_range": [int(v) for v in trans.ngram_range]})
            if isinstance(trans.analyzer, CharNgrams):
                analyzer = trans.analyzer
                block.update({"kind": "chars", "punctuation": bool(analyzer.punctuation),
                              "ngram_range": [int(v) for v in analyzer.ngram_range]})
            elif isinstance(trans.tokenizer, WordTokens):
                block.update({"kind": "words", "punctuation": bool(trans.tokenizer.punctuation),
                              "userdict": [str(line) for line in trans.tokenizer.userdict]})
            else:  # pragma: no cover - FastFeatures.of refused it already
                raise LeanUnsupported(f"{name}: an analyzer the lean file does not describe")
            if idf.shape != (len(terms),):
                raise LeanUnsupported(f"{name}: idf and vocabulary differ in length")
            arrays[f"terms_{len(blocks)}"] = _text(terms)
            arrays[f"idf_{len(blocks)}"] = idf
        else:  # pragma: no cover - FastFeatures.of refused it already
            raise LeanUnsupported(f"{name}: a block the lean file does not describe")
        blocks.append(block)
    n_features = sum(int(b["n"]) for b in blocks)

    clf = pipe[-1]
    if not isinstance(clf, WriterCalibratedClassifier) or not isinstance(
            clf.estimator_, LogisticRegression):
        raise LeanUnsupported("the urgent head is not a writer-calibrated logistic regression")
    urgent: dict[str, Any] = {"bound": float(clf.bound),
                              "classes": [int(c) for c in clf.classes_]}
    cal = clf.calibrator_
    if isinstance(cal, IsotonicRegression):
        if cal.out_of_bounds != "clip":
            raise LeanUnsupported("isotonic calibration that does not clip")
        urgent["calibration"] = "isotonic"
        arrays["urgent_isotonic_x"] = np.asarray(cal.X_thresholds_)
        arrays["urgent_isotonic_y"] = np.asarray(cal.y_thresholds_)
        arrays["urgent_isotonic_bounds"] = np.asarray([cal.X_min_, cal.X_max_], dtype=float)
    elif type(cal).__name__ == "_SigmoidCalibration":
        urgent["calibration"] = "sigmoid"
        arrays["urgent_sigmoid"] = np.asarray([cal.a_, cal.b_], dtype=float)
    else:
        raise LeanUnsupported(f"calibrator {type(cal).__name__}")
    arrays["urgent_coef"] = np.asarray(clf.estimator_.coef_)
    arrays["urgent_intercept"] = np.asarray(clf.estimator_.intercept_)

    cat = model.category_model
    if not isinstance(cat, LogisticRegression):
        raise LeanUnsupported("the category head is not a logistic regression")
    arrays["category_coef"] = np.asarray(cat.coef_)
    arrays["category_intercept"] = np.asarray(cat.intercept_)
    voice = model.voice_model
    if voice is not None:
        if not isinstance(voice, LogisticRegression):
            raise LeanUnsupported("the voice head is not a logistic regression")
        arrays["voice_coef"] = np.asarray(voice.coef_)
        arrays["voice_intercept"] = np.asarray(voice.intercept_)
    meta = {"format": FORMAT, "kind": KIND, "model_sha256": model_sha256,
            "n_features": n_features, "blocks": blocks, "urgent": urgent,
            "categories": [str(c) for c in cat.classes_], "voice": voice is not None}
    arrays["meta"] = _text(meta)
    explainer = Explainer(arrays["urgent_coef"], feature_names(union))
    arrays["explain_col_ids"] = explainer.col_ids.astype(np.int32)
    arrays["explain_terms"] = _text(explainer.terms)
    arrays["explain_term_rank"] = explainer.term_rank.astype(np.int32)
    check(arrays)
    return arrays


def write(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Write the members to ``path`` (atomically: a temporary file, then a rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        # Not compressed: loading is what matters (4 MB read in ~20 ms; inflating takes 5×).
        np.savez(fh, allow_pickle=False, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)
    return path


def read(path: Path) -> dict[str, np.ndarray]:
    """The members of a lean file, checked for shape (:class:`ModelError` when not usable)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path.name} cannot be read: {exc}") from exc
    check(arrays)
    return arrays


def meta_of(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    meta = _untext(arrays["meta"])
    if not isinstance(meta, dict):
        raise ModelError("the lean file's meta is not an object")
    return meta


def terms_of(arrays: dict[str, np.ndarray], i: int) -> list[str]:
    return [str(t) for t in _untext(arrays[f"terms_{i}"])]


def explain_terms_of(arrays: dict[str, np.ndarray]) -> list[str]:
    return [str(t) for t in _untext(arrays["explain_terms"])]


def check(arrays: dict[str, np.ndarray]) -> None:
    """Every member there, of the right shape (ModelError naming the first that is not)."""
    def need(name: str, shape: tuple[int, ...]) -> np.ndarray:
        arr = arrays.get(name)
        if arr is None:
            raise ModelError(f"the lean file has no {name}")
        if arr.shape != shape:
            raise ModelError(f"the lean file's {name} has shape {arr.shape}, not {shape}")
        if arr.dtype.kind != "f":
            raise ModelError(f"the lean file's {name} is not floating point")
        return arr

    if "meta" not in arrays:
        raise ModelError("the lean file has no meta")
    meta = meta_of(arrays)
    if meta.get("kind") != KIND or meta.get("format") != FORMAT:
        raise ModelError(f"not a dianhua lean file of format {FORMAT}")
    n = int(meta["n_features"])
    blocks = meta["blocks"]
    if sum(int(b["n"]) for b in blocks) != n:
        raise ModelError("the lean file's blocks do not add up to its features")
    for i, block in enumerate(blocks):
        if block["kind"] in ("words", "chars"):
            need(f"idf_{i}", (int(block["n"]),))
            if f"terms_{i}" not in arrays:
                raise ModelError(f"the lean file has no terms_{i}")
        elif block["kind"] not in ("lexicon", "situation"):
            raise ModelError(f"the lean file has a block of unknown kind {block['kind']!r}")
    need("urgent_coef", (1, n))
    need("urgent_intercept", (1,))
    if meta["urgent"]["calibration"] == "sigmoid":
        need("urgent_sigmoid", (2,))
    elif meta["urgent"]["calibration"] == "isotonic":
        iso = arrays.get("urgent_isotonic_x", np.zeros(0)).shape
        need("urgent_isotonic_x", iso)
        need("urgent_isotonic_y", iso)
        need("urgent_isotonic_bounds", (2,))
        if len(iso) != 1 or iso[0] < 1:
            raise ModelError("the lean file's isotonic calibration has no thresholds")
    else:
        raise ModelError("the lean file's urgent calibration is neither sigmoid nor isotonic")
    k = len(meta["categories"])
    if k == 2:
        need("category_coef", (1, n))
        need("category_intercept", (1,))
    else:
        need("category_coef", (k, n))
        need("category_intercept", (k,))
    if meta["voice"]:
        need("voice_coef", (1, n))
        need("voice_intercept", (1,))
    for name in ("explain_col_ids", "explain_terms", "explain_term_rank"):
        if name not in arrays:
            raise ModelError(f"the lean file has no {name}")
    if arrays["explain_col_ids"].shape != (n,):
        raise ModelError("the lean file's explain_col_ids is not one per feature")


__all__ = ["FORMAT", "KIND", "SUFFIX", "LeanUnsupported", "check", "export", "lean_path_for",
           "meta_of", "explain_terms_of", "read", "terms_of", "write"]
