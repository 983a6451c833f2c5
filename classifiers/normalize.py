"""Text normalisation shared by the classifier and the rules engine.

``normalize(text)``: Unicode NFKC (full-width letters, digits and punctuation become their
ASCII forms), traditional → simplified Chinese (OpenCC tables via ``opencc-python-reimplemented``),
lower case, control characters dropped, runs of whitespace folded, and (by default) phone and ID
numbers replaced by ``<PHONE>`` / ``<IDNUM>`` so the model never learns from personal data.
Never raises, whatever the input.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot import pii

_WS = re.compile(r"\s+")
# OpenCC keeps 著 (valid in 著名, 显著); in traditional text it is mostly the particle 着 (等著).
_ZHE = re.compile(r"(?<![显卓昭土])著(?![名作称述书])")
_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese; text without Chinese passes through unchanged."""
    if not text or text.isascii():
        return text
    try:
        out = str(_t2s().convert(text))
    except Exception:  # pragma: no cover - the converter is table-driven; be safe anyway
        return text
    return _ZHE.sub("着", out) if "著" in out else out


def normalize(text: str, *, mask_pii: bool = True) -> str:
    """Return the canonical form of ``text`` used for features and keyword matching."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        " " if ch in "\t\n\r\u3000" else ch
        for ch in text
        if ch in "\t\n\r" or unicodedata.category(ch) not in _CONTROL_CATEGORIES
        or ch == "\u200d"  # keep zero-width joiner inside emoji sequences
    )
    text = to_simplified(text).lower()
    if mask_pii:
        text = pii.mask(text, token=True).replace("<phone>", pii.PHONE_TOKEN)
    return _WS.sub(" ", text).strip()


__all__ = ["normalize", "to_simplified"]
