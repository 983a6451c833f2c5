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


@lru_cache(maxsize=1)
def _t2s_keys() -> tuple[frozenset[str], tuple[str, ...]] | None:
    """What a text must hold for OpenCC to change it: ``(characters, phrases)``.

    OpenCC replaces dictionary keys found in the text, nothing else. A text that holds none of
    the one-character keys, nor any longer key made only of other characters, holds no key at
    all (a key with a one-character key's character in it needs that character), so the
    conversion would return it unchanged. ``None`` when the tables cannot be read (then every
    text goes through the converter).
    """
    try:
        cc = _t2s()
        cc._init_dict()
        keys: set[str] = set()
        stack: list[object] = list(cc._dict_chain_data)
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            else:
                table = item[2]  # type: ignore[index]
                keys.update(str(k) for k in table)
    except Exception:  # pragma: no cover - another opencc layout: no shortcut
        return None
    if not keys or "" in keys:
        return None
    chars = frozenset(k for k in keys if len(k) == 1)
    phrases = tuple(sorted(k for k in keys if len(k) > 1 and chars.isdisjoint(k)))
    return chars, phrases


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese; text without Chinese passes through unchanged."""
    if not text or text.isascii():
        return text
    keys = _t2s_keys()
    if keys is not None and keys[0].isdisjoint(text) and not any(p in text for p in keys[1]):
        out = text  # no dictionary key in the text: the conversion is the identity
    else:
        try:
            out = str(_t2s().convert(text))
        except Exception:  # pragma: no cover - the converter is table-driven; be safe anyway
            return text
    return _ZHE.sub("着", out) if "著" in out else out


# Characters known to pass the control-character step unchanged (filled as they are seen).
_PLAIN: set[str] = set()
_PLAIN_MAX = 200_000


def _drop_controls(text: str) -> str:
    if _PLAIN.issuperset(text):
        return text
    out = "".join(
        " " if ch in "\t\n\r\u3000" else ch
        for ch in text
        if ch in "\t\n\r" or unicodedata.category(ch) not in _CONTROL_CATEGORIES
        or ch == "\u200d"  # keep zero-width joiner inside emoji sequences
    )
    if len(_PLAIN) < _PLAIN_MAX:
        for ch in set(text) - _PLAIN:
            if ch not in "\t\n\r\u3000" and (
                unicodedata.category(ch) not in _CONTROL_CATEGORIES or ch == "\u200d"
            ):
                _PLAIN.add(ch)
    return out


def normalize(text: str, *, mask_pii: bool = True) -> str:
    """Return the canonical form of ``text`` used for features and keyword matching."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = _drop_controls(unicodedata.normalize("NFKC", text))
    text = to_simplified(text).lower()
    if mask_pii:
        text = pii.mask(text, token=True).replace("<phone>", pii.PHONE_TOKEN)
    return _WS.sub(" ", text).strip()


__all__ = ["normalize", "to_simplified"]
