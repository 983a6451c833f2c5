"""The urgent-request classifier: how urgent is this comment, what is it about, and why?

>>> from classifiers import load_model
>>> model = load_model()                      # the bundled model (classifiers/bundled/)
>>> p = model.predict("老婆见红了，医院要48小时核酸，结果还没出")
>>> p.score, p.band, p.category, p.top_terms[:2]

``load_model()`` returns a :class:`~classifiers.lean.LeanModel` (numpy only, from the model's
``urgent.lean.npz``) when the lean file is there and matches the card, else (or with
``full=True``) an :class:`~classifiers.model.UrgencyModel` with the fitted scikit-learn
estimators; both have the same surface (:class:`classifiers.base.ModelBase`). Heavy imports
(scikit-learn, jieba) happen on first use, so ``from classifiers.normalize import normalize``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from classifiers.prediction import Prediction

if TYPE_CHECKING:
    from classifiers.baseline import KeywordBaseline
    from classifiers.lean import LeanModel
    from classifiers.model import UrgencyModel
    from classifiers.persist import load_model

_LAZY = {
    "load_model": "classifiers.persist",
    "UrgencyModel": "classifiers.model",
    "LeanModel": "classifiers.lean",
    "KeywordBaseline": "classifiers.baseline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["KeywordBaseline", "LeanModel", "Prediction", "UrgencyModel", "load_model"]
