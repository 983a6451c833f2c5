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


# How many recent runs (text between punctuation) the segmenter and the feature code remember.
# The daemon keeps each module's default (1,024): in a long-lived process, memo entries that
# live among each batch's short-lived objects fragment Python's heap, and it grows (issue 16).
# A batch command over a file ends soon after and meets the same runs again and again (a
# month of comments repeats 谢谢小编 and 急急急 thousands of times): it may remember more.
BATCH_MEMO = 20_000
_MEMOS = (("classifiers.segment", "MEMO_TEXTS"), ("classifiers.lean", "MEMO_RUNS"),
          ("classifiers.features", "MEMO_RUNS"))


def use_batch_memos(size: int = BATCH_MEMO) -> None:
    """Let this process remember ``size`` runs per memo (for batch commands, not the daemon).
    Only modules already imported are changed: nothing heavy is imported for it."""
    import importlib
    import sys

    for name, attr in _MEMOS:
        module = sys.modules.get(name)
        if module is None and name != "classifiers.features":  # features imports scikit-learn
            module = importlib.import_module(name)
        if module is not None:
            setattr(module, attr, int(size))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["BATCH_MEMO", "KeywordBaseline", "LeanModel", "Prediction", "UrgencyModel",
           "load_model", "use_batch_memos"]
