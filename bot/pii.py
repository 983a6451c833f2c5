"""Personal data: find, extract and mask mainland phone numbers and resident ID numbers.

Everything that leaves the building (logs, traces, public replies, exports, test output) goes
through :func:`mask`. Extraction is for the case, so the people who call back can see the number.
Masking and extraction share ONE recogniser (:func:`_scan`), so whatever is extracted is also
masked and the other way round.

The recogniser reads *digits* in any of these scripts: ASCII ``0-9``, full-width ``０-９``,
Chinese numerals (``〇零一二三四五六七八九``, ``幺`` for one, and the financial forms
``壹贰叁肆伍陆柒捌玖``). Digits form *groups* (adjacent digits); groups join into a *run* when at
most three separator characters stand between them: any white space, dashes (``- ‐ ‑ – — －``),
dots (``. ． · 。``), slashes, underscores and zero-width characters (``U+200B-U+200D``,
``U+2060``, ``U+FEFF``). A number must start and end on group boundaries, so a phone number is
never cut out of the middle of a longer digit string.

* Mobile: 11 digits ``1[3-9]xxxxxxxxx``, optionally after ``+86``/``0086``.
* ID: 18 characters (17 digits + digit or X) whose ISO 7064 MOD 11-2 checksum holds, or
  legacy 15 digits. Only checksum-valid 18-digit IDs are *extracted*; anything ID-shaped is *masked*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGIT_MAP: dict[str, str] = {}
for _i, _ch in enumerate("0123456789"):
    _DIGIT_MAP[_ch] = _ch
    _DIGIT_MAP[chr(0xFF10 + _i)] = _ch
for _chars, _d in (("〇零", "0"), ("一幺壹", "1"), ("二贰貳", "2"), ("三叁參", "3"), ("四肆", "4"),
                   ("五伍", "5"), ("六陆陸", "6"), ("七柒", "7"), ("八捌", "8"), ("九玖", "9")):
    for _ch in _chars:
        _DIGIT_MAP[_ch] = _d
_DIGIT_CLASS = "".join(sorted(_DIGIT_MAP))
_SEP_CLASS = r"\s\-\u2010\u2011\u2013\u2014\uff0d.\uff0e\u00b7\u3002/_\u200b\u200c\u200d\u2060\ufeff"
MAX_SEP = 3
# One run: optional '+', digit groups joined by 1-3 separators, optionally an X closing an ID.
_RUN_RE = re.compile(
    rf"[+\uff0b]?[{_DIGIT_CLASS}]+(?:[{_SEP_CLASS}]{{1,{MAX_SEP}}}[{_DIGIT_CLASS}]+)*[XxＸｘ]?"
)
_GROUP_RE = re.compile(rf"[{_DIGIT_CLASS}]+[XxＸｘ]?")
_ASCII_DIGIT_RE = re.compile(r"[0-9]")
# A phone number that is already masked, e.g. 138****5678: not personal data any more.
MASKED_PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9][\*xX×]{4}[0-9]{4}(?![0-9])")
_PHONE_DIGITS_RE = re.compile(r"1[3-9][0-9]{9}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ANY_DIGIT = frozenset(_DIGIT_MAP)

PHONE_TOKEN = "<PHONE>"
ID_TOKEN = "<IDNUM>"


@dataclass(frozen=True)
class Found:
    """One number in a text: ``kind`` (``phone``, ``id18`` or ``id15``), its ASCII digits,
    and where it is (``start``/``end`` in the original text, prefix such as ``+86`` included)."""

    kind: str
    digits: str
    start: int
    end: int


def _digits(chars: str) -> str:
    return "".join(_DIGIT_MAP.get(ch, "X" if ch in "XxＸｘ" else "") for ch in chars)


def _scan(text: str) -> list[Found]:
    """Every phone and ID-shaped number in ``text``, in order, not overlapping."""
    if not text or _ANY_DIGIT.isdisjoint(text):
        return []
    out: list[Found] = []
    for run in _RUN_RE.finditer(text):
        plus = run.group(0)[0] in "+\uff0b"
        groups = [(m.start() + run.start(), m.end() + run.start(), _digits(m.group(0)))
                  for m in _GROUP_RE.finditer(run.group(0))]
        if sum(len(g[2]) for g in groups) < 11:
            continue
        out.extend(_numbers_in(groups, plus, run.start()))
    return out


def _numbers_in(groups: list[tuple[int, int, str]], plus: bool, run_start: int) -> list[Found]:
    found: list[Found] = []
    i = 0
    while i < len(groups):
        hit = _number_at(groups, i, plus and i == 0, run_start)
        if hit is None:
            i += 1
            continue
        found.append(hit[0])
        i = hit[1]
    return found


def _number_at(
    groups: list[tuple[int, int, str]], i: int, plus: bool, run_start: int
) -> tuple[Found, int] | None:
    """The number starting at group ``i`` (and the index after it), or None."""
    digits = ""
    for j in range(i, len(groups)):
        if "X" in digits:  # an X ends an ID; nothing may follow it
            break
        digits += groups[j][2]
        start = run_start if plus else groups[i][0]
        end = groups[j][1]
        n = len(digits)
        if n > 18:
            break
        phone = _phone_digits(digits, plus)
        if phone is not None:
            return Found("phone", phone, start, end), j + 1
        if n == 18 and digits[0] != "0" and "X" not in digits[:17]:
            return Found("id18", digits, groups[i][0], end), j + 1
        if n == 15 and j == i and digits[0] != "0" and "X" not in digits:
            return Found("id15", digits, groups[i][0], end), j + 1
    return None


def _phone_digits(digits: str, plus: bool) -> str | None:
    for prefix in (("86",) if plus else ()) + ("0086",):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    if len(digits) == 11 and _PHONE_DIGITS_RE.fullmatch(digits):
        return digits
    return None


def id_checksum_ok(candidate: str) -> bool:
    """True when an 18-character ID number's MOD 11-2 check character is right."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def find_phones(text: str) -> list[str]:
    """Mainland mobile numbers in ``text``, normalised to 11 ASCII digits, in order, no repeats."""
    seen: list[str] = []
    for f in _scan(text):
        if f.kind == "phone" and f.digits not in seen:
            seen.append(f.digits)
    return seen


def find_ids(text: str) -> list[str]:
    """Checksum-valid 18-character resident ID numbers in ``text`` (upper-case X)."""
    out: list[str] = []
    for f in _scan(text):
        if f.kind == "id18" and id_checksum_ok(f.digits) and f.digits not in out:
            out.append(f.digits)
    return out


def has_phone(text: str) -> bool:
    return bool(find_phones(text))


def has_id(text: str) -> bool:
    return bool(find_ids(text))


def mask_phone(number: str) -> str:
    """``13800000000`` → ``138****0000`` (any spelling the recogniser reads)."""
    digits = _digits(number).replace("X", "")[-11:]
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 else "***"


def _mask_id(digits: str) -> str:
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask(text: str, *, token: bool = False) -> str:
    """Mask every phone and ID-shaped number in ``text``.

    With ``token=False`` (logs, exports) a phone becomes ``138****5678`` and an ID ``440***********123X``.
    With ``token=True`` (classifier features) they become ``<PHONE>`` and ``<IDNUM>``.
    Works on any string; never raises.
    """
    if not text:
        return text
    spans: list[tuple[int, int, str]] = []
    for f in _scan(text):
        if f.kind == "phone":
            spans.append((f.start, f.end, PHONE_TOKEN if token else mask_phone(f.digits)))
        else:
            spans.append((f.start, f.end, ID_TOKEN if token else _mask_id(f.digits)))
    if token and _ASCII_DIGIT_RE.search(text):
        for m in MASKED_PHONE_RE.finditer(text):
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
    "Found",
    "find_ids",
    "find_phones",
    "has_id",
    "has_phone",
    "id_checksum_ok",
    "mask",
    "mask_phone",
]
