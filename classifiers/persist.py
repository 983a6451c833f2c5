"""Saving and loading models safely: skops files + a JSON card that pins the file's hash.

Loading refuses (with :class:`bot.errors.ModelError`) a model that is missing, whose card
is missing or unreadable, whose file hash differs from the card's (tampered or corrupted),
that was made with another scikit-learn major.minor, or that holds any type outside
:data:`TRUSTED_TYPES`, so a crafted file cannot run code.

Beside the skops file, :func:`save_model` writes the lean file (``urgent.lean.npz``,
:mod:`classifiers.lean_file`: the fitted arrays scoring needs, nothing pickled) and pins it in
the card too (``lean_file``, ``lean_sha256``). :func:`load_model` returns the
:class:`classifiers.lean.LeanModel` built from it when it is there and matches the card (no
scikit-learn or scipy imported: most of a process's start-up); otherwise, or with
``full=True``, the :class:`classifiers.model.UrgencyModel` from the skops file.
:func:`write_lean` adds the lean file to a model saved without one.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from loguru import logger

from bot.errors import ModelError
from classifiers.paths import DEFAULT_MODEL, card_path_for

if TYPE_CHECKING:
    from classifiers.lean import LeanModel
    from classifiers.model import UrgencyModel

FORMAT = 1

# The types a dianhua model file holds beyond those skops trusts by default (numpy arrays,
# scikit-learn estimators such as Pipeline, TfidfVectorizer, LogisticRegression). Anything
# else is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "classifiers.calibration.WriterCalibratedClassifier",
    "classifiers.features.CharNgrams",
    "classifiers.features.CompactTfidfVectorizer",
    "classifiers.features.Normalizer",
    "classifiers.features.WordTokens",
    "classifiers.lexicon.LexiconFeatures",
    "classifiers.situation.SituationFeatures",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


# The scikit-learn estimators a dianhua model may hold (what `dianhua train` builds, with either
# calibration method). skops trusts these by default; see :func:`skops_io`.
SKLEARN_ESTIMATORS: tuple[tuple[str, str], ...] = (
    ("sklearn.calibration", "CalibratedClassifierCV"),
    ("sklearn.feature_extraction.text", "CountVectorizer"),
    ("sklearn.feature_extraction.text", "TfidfTransformer"),
    ("sklearn.feature_extraction.text", "TfidfVectorizer"),
    ("sklearn.isotonic", "IsotonicRegression"),
    ("sklearn.linear_model", "LogisticRegression"),
    ("sklearn.pipeline", "FeatureUnion"),
    ("sklearn.pipeline", "Pipeline"),
)


_NOT_NEEDED = ("sklearn.ensemble._hist_gradient_boosting.binning",)


def skops_io() -> ModuleType:
    """``skops.io``, imported without importing all of scikit-learn.

    On import, skops lists every scikit-learn estimator (``sklearn.utils.all_estimators``) to
    trust them by default, which imports every scikit-learn module (and pytest): about 1.3 s of
    a 3 s start. dianhua models hold only :data:`SKLEARN_ESTIMATORS`, so while skops is
    imported ``all_estimators`` answers with those (then it is put back). skops then trusts
    fewer types by default, never more; :func:`load_model` still refuses anything outside them
    and :data:`TRUSTED_TYPES`. When skops is already imported, it is used as it is.
    """
    loaded = sys.modules.get("skops.io")
    if loaded is not None:
        return loaded
    import importlib

    import sklearn.utils as sk_utils

    def dianhua_estimators(type_filter: Any = None) -> list[tuple[str, type]]:
        return [(name, getattr(importlib.import_module(mod), name))
                for mod, name in SKLEARN_ESTIMATORS]

    # skops also trusts gradient boosting's bin mapper when it can import it (all of
    # sklearn.ensemble); a dianhua model holds none, so that import is made to fail meanwhile.
    blocked = [m for m in _NOT_NEEDED if m not in sys.modules]
    real = sk_utils.all_estimators
    sk_utils.all_estimators = dianhua_estimators
    for mod in blocked:
        sys.modules[mod] = None  # type: ignore[assignment]
    try:
        import skops.io
    finally:
        sk_utils.all_estimators = real
        for mod in blocked:
            if sys.modules.get(mod, False) is None:
                del sys.modules[mod]
    return skops.io


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _sklearn_version() -> str:
    """This environment's scikit-learn version, without importing it when it is not loaded."""
    loaded = sys.modules.get("sklearn")
    if loaded is not None:
        return str(loaded.__version__)
    try:
        return metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        return ""


def save_model(model: UrgencyModel | LeanModel, path: str | Path) -> tuple[Path, Path]:
    """Write ``path`` (skops), its lean file and its card beside it; the card gains both
    files' sha256."""
    from classifiers.lean import LeanModel
    from classifiers.lean_file import lean_path_for

    full = model.full() if isinstance(model, LeanModel) else model
    model_path = Path(path)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "urgent": full.urgent_pipeline,
        "category": full.category_model,
        "voice": full.voice_model,  # None for a model without a voice head
    }
    sio = skops_io()
    tmp = model_path.with_name(model_path.name + ".tmp")
    sio.dump(payload, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    found = sio.get_untrusted_types(file=tmp)
    logger.debug("model file types: {}", found)
    untrusted = set(found) - set(TRUSTED_TYPES)
    if untrusted:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"refusing to save a model with unlisted types: {sorted(untrusted)}")
    tmp.replace(model_path)
    card = dict(model.card)
    for key in LEAN_KEYS:
        card.pop(key, None)
    card["model_file"] = model_path.name
    card["model_sha256"] = sha256_file(model_path)
    card["model_bytes"] = model_path.stat().st_size
    lean_path_for(model_path).unlink(missing_ok=True)
    card.update(_write_lean(full, model_path, card["model_sha256"]))
    card_path = card_path_for(model_path)
    _write_card(card_path, card)
    model.card = card
    if full is not model:
        full.card = card
    return model_path, card_path


# The card's fields about the lean file.
LEAN_KEYS = ("lean_file", "lean_sha256", "lean_bytes")


def _write_lean(model: UrgencyModel, model_path: Path, model_sha256: str) -> dict[str, Any]:
    """Write the lean file beside ``model_path``; the card's fields for it (none when the
    model's shape is not one the lean file describes: then the skops file serves alone)."""
    from classifiers import lean_file

    try:
        arrays = lean_file.export(model, model_sha256)
    except lean_file.LeanUnsupported as exc:
        logger.warning("no lean file for {}: {} (the skops file serves alone; loading "
                       "is slower)", model_path.name, exc)
        return {}
    target = lean_file.write(arrays, lean_file.lean_path_for(model_path))
    return {"lean_file": target.name, "lean_sha256": sha256_file(target),
            "lean_bytes": target.stat().st_size}


def _write_card(card_path: Path, card: dict[str, Any]) -> None:
    tmp = card_path.with_name(card_path.name + ".tmp")
    tmp.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(card_path)


def write_lean(path: str | Path | None = None) -> Path | None:
    """Write (or rewrite) the lean file of the model at ``path`` (default: the bundled one) from
    its skops file, and pin it in the card. Returns the lean file (None when the model's shape is
    not one the lean file describes). The skops file is not changed."""
    from classifiers.model import UrgencyModel

    model = load_model(path, full=True)
    assert isinstance(model, UrgencyModel)
    model_path = _model_path(path)
    card = read_card(model_path)
    for key in LEAN_KEYS:
        card.pop(key, None)
    from classifiers.lean_file import lean_path_for

    lean_path_for(model_path).unlink(missing_ok=True)
    fields = _write_lean(model, model_path, str(card["model_sha256"]))
    card.update(fields)
    _write_card(card_path_for(model_path), card)
    return lean_path_for(model_path) if fields else None


def read_card(path: str | Path) -> dict[str, Any]:
    """The card beside a model file (ModelError when missing or not a JSON object)."""
    card_path = card_path_for(Path(path))
    if not card_path.exists():
        raise ModelError(f"model card not found: {card_path} (it must sit beside the model)")
    from bot.errors import InputError
    from bot.limits import loads, read_file

    try:
        card = loads(read_file(card_path, max_bytes=1024 * 1024).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, InputError) as exc:
        raise ModelError(f"model card {card_path} is not valid JSON: {exc}") from exc
    if not isinstance(card, dict):
        raise ModelError(f"model card {card_path} must be a JSON object")
    return card


def _model_path(path: str | Path | None) -> Path:
    model_path = Path(path) if path is not None else DEFAULT_MODEL
    if model_path.is_dir():
        model_path = model_path / DEFAULT_MODEL.name
    return model_path


def load_model(path: str | Path | None = None, *, full: bool = False) -> UrgencyModel | LeanModel:
    """Load a model and its card, refusing anything missing, tampered or incompatible.

    The lean model (numpy only) when the lean file is there and matches the card; with
    ``full=True``, or when it is not usable, the model with its scikit-learn estimators.
    """
    model_path = _model_path(path)
    if not model_path.is_file():
        raise ModelError(
            f"model file not found: {model_path} (run `dianhua train` to build one)"
        )
    card = read_card(model_path)
    expected = card.get("model_sha256")
    actual = sha256_file(model_path)
    if expected != actual:
        raise ModelError(
            f"model file {model_path.name} does not match its card (sha256 {actual[:12]}…, "
            f"card says {str(expected)[:12]}…): the file is corrupt or was tampered with; "
            "retrain with `dianhua train` or restore both files"
        )
    made_with = str((card.get("libraries") or {}).get("sklearn", ""))
    here = _sklearn_version()
    if _major_minor(made_with) != _major_minor(here):
        raise ModelError(
            f"model {model_path.name} was made with scikit-learn {made_with or 'unknown'}, "
            f"this is {here}: retrain with `dianhua train`"
        )
    if not full:
        lean = _load_lean(model_path, card)
        if lean is not None:
            return lean
    return _load_full(model_path, card)


def _load_lean(model_path: Path, card: dict[str, Any]) -> LeanModel | None:
    """The lean model, or None (and why, at debug) when its file is missing, does not match the
    card or cannot be used; the skops file then serves."""
    from classifiers import lean_file

    name = card.get("lean_file")
    lean_path = lean_file.lean_path_for(model_path)
    why = ""
    if not name:
        why = "the card names no lean file"
    elif name != lean_path.name:
        why = f"the card names {name!r}, not {lean_path.name!r}"
    elif not lean_path.is_file():
        why = f"{lean_path.name} is missing"
    elif card.get("lean_sha256") != sha256_file(lean_path):
        why = f"{lean_path.name} does not match its card's sha256"
    if why:
        logger.debug("model {}: not using the lean file ({}); loading the skops file",
                     model_path.name, why)
        return None
    from classifiers.lean import LeanModel

    try:
        arrays = lean_file.read(lean_path)
        if lean_file.meta_of(arrays).get("model_sha256") != card.get("model_sha256"):
            raise ModelError(f"{lean_path.name} was exported from another skops file")
        model = LeanModel(arrays, card, model_path)
        model.predict_many(["自检：核酸结果什么时候出"])  # the shape is right only if this works
    except Exception as exc:  # any problem: the skops file, checked on its own, serves
        logger.debug("model {}: the lean file is not usable ({}: {}); loading the skops file",
                     model_path.name, type(exc).__name__, exc)
        return None
    logger.debug("loaded model {} from {} (lean)", model.version, lean_path)
    return model


def _load_full(model_path: Path, card: dict[str, Any]) -> UrgencyModel:
    """The model with its scikit-learn estimators, from the skops file (hash already checked)."""
    from classifiers.model import UrgencyModel

    sio = skops_io()
    try:
        found = sio.get_untrusted_types(file=model_path)
    except Exception as exc:
        raise ModelError(f"model file {model_path} is corrupt: {exc}") from exc
    unexpected = sorted(set(found) - set(TRUSTED_TYPES))
    if unexpected:
        raise ModelError(
            f"model file {model_path.name} holds types dianhua does not trust "
            f"({', '.join(unexpected)}); refusing to load it"
        )
    try:
        payload = sio.load(model_path, trusted=list(found))
    except Exception as exc:
        raise ModelError(f"model file {model_path} could not be read: {exc}") from exc
    if (
        not isinstance(payload, dict)
        or payload.get("format") != FORMAT
        or "urgent" not in payload
        or "category" not in payload
    ):
        raise ModelError(f"model file {model_path} is not a dianhua model (format {FORMAT})")
    try:
        model = UrgencyModel(payload["urgent"], payload["category"], card, payload.get("voice"))
        model.predict_many(["自检：核酸结果什么时候出"])  # the shape is right only if this works
    except ModelError:
        raise
    except Exception as exc:  # allowed types in the wrong shape: no traceback, a plain refusal
        raise ModelError(
            f"model file {model_path.name} holds allowed types but not in the shape of a "
            f"dianhua model ({type(exc).__name__}); retrain with `dianhua train` or restore "
            "both files"
        ) from None
    logger.debug("loaded model {} from {}", model.version, model_path)
    return model


__all__ = ["LEAN_KEYS", "SKLEARN_ESTIMATORS", "TRUSTED_TYPES", "load_model", "read_card",
           "save_model", "sha256_file", "skops_io", "write_lean"]
