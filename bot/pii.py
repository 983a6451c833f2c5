"""Personal data: find, extract and mask mainland phone numbers and resident ID numbers.

Everything that leaves the building (logs, traces, public replies, exports, test output) goes
through :func:`mask`. Extraction is for the case, so the people who call back can see the number.

* Mobile: 11 digits ``1[3-9]xxxxxxxxx``, optionally written with spaces or dashes (``138 0000 0000``,
  ``138-0000-0000``) or a ``+86``/``0086`` prefix, not embedded in a longer digit run.
* ID: 18 characters (17 digits + digit or X) whose ISO 7064 MOD 11-2 checksum holds, or
  legacy 15 digits. Only checksum-valid 18-digit IDs are *extracted*; anything ID-shaped is *masked*.
"""

from __future__ import annotations

import re
import unicodedata

_SEP = r"[\s\-]?"
PHONE_RE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)86[\s\-]?)?(1[3-9][0-9](?:" + _SEP + r"[0-9]{4}){2})(?![0-9])"
)
# A phone number that is already masked, e.g. 138****5678: not personal data any more.
MASKED_PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9][\*xX×]{4}[0-9]{4}(?![0-9])")
ID18_RE = re.compile(r"(?<![0-9])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
ID15_RE = re.compile(r"(?<![0-9])([1-9][0-9]{14})(?![0-9])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

PHONE_TOKEN = "<PHONE>"
ID_TOKEN = "<IDNUM>"


def _digits_view(text: str) -> str:
    # Full-width digits (１３８) become ASCII so they are found too; length is preserved
    # for every character we care about because NFKC of a full-width digit is one char.
    return "".join(
        unicodedata.normalize("NFKC", ch) if "\uff10" <= ch <= "\uff19" or ch in "\uff0b\uff38\uff58" else ch
        for ch in text
    )


def id_checksum_ok(candidate: str) -> bool:
    """True when an 18-character ID number's MOD 11-2 check character is right."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def find_phones(text: str) -> list[str]:
    """Mainland mobile numbers in ``text``, normalised to 11 digits, in order, without repeats."""
    seen: list[str] = []
    for m in PHONE_RE.finditer(_digits_view(text)):
        digits = re.sub(r"\D", "", m.group(1))
        if len(digits) == 11 and digits not in seen:
            seen.append(digits)
    return seen


def find_ids(text: str) -> list[str]:
    """Checksum-valid 18-character resident ID numbers in ``text`` (upper-case X)."""
    out: list[str] = []
    for m in ID18_RE.finditer(_digits_view(text)):
        cand = m.group(1).upper()
        if id_checksum_ok(cand) and cand not in out:
            out.append(cand)
    return out


def has_phone(text: str) -> bool:
    return bool(find_phones(text))


def has_id(text: str) -> bool:
    return bool(find_ids(text))


def mask_phone(number: str) -> str:
    """``13800000000`` → ``138****0000``."""
    digits = re.sub(r"\D", "", number)[-11:]
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 else "***"


def mask(text: str, *, token: bool = False) -> str:
    """Mask every phone and ID-shaped number in ``text``.

    With ``token=False`` (logs, exports) a phone becomes ``138****5678`` and an ID ``440***********123X``.
    With ``token=True`` (classifier features) they become ``<PHONE>`` and ``<IDNUM>``.
    Works on any string; never raises.
    """
    if not text:
        return text
    view = _digits_view(text)
    if view != text and len(view) != len(text):  # pragma: no cover - defensive
        view = text
    spans: list[tuple[int, int, str]] = []
    for m in ID18_RE.finditer(view):
        rep = ID_TOKEN if token else m.group(1)[:3] + "*" * 11 + m.group(1)[-4:]
        spans.append((m.start(1), m.end(1), rep))
    for m in ID15_RE.finditer(view):
        if not any(s <= m.start(1) < e for s, e, _ in spans):
            rep = ID_TOKEN if token else m.group(1)[:3] + "*" * 8 + m.group(1)[-4:]
            spans.append((m.start(1), m.end(1), rep))
    for m in PHONE_RE.finditer(view):
        if not any(s <= m.start(1) < e for s, e, _ in spans):
            spans.append((m.start(0), m.end(1), PHONE_TOKEN if token else mask_phone(m.group(1))))
    if token:
        for m in MASKED_PHONE_RE.finditer(view):
            if not any(s <= m.start() < e for s, e, _ in spans):
                spans.append((m.start(), m.end(), PHONE_TOKEN))
    if not spans:
        return text
    spans.sort()
    out: list[str] = []
    pos = 0
    for start, end, rep in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(rep)
        pos = end
    out.append(text[pos:])
    return "".join(out)


__all__ = [
    "ID_TOKEN",
    "PHONE_TOKEN",
    "find_ids",
    "find_phones",
    "has_id",
    "has_phone",
    "id_checksum_ok",
    "mask",
    "mask_phone",
]
