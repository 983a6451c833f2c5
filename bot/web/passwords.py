"""Password hashes for the desk: salted scrypt (hashlib), encoded as one string.

Format: ``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>``. Hashes are stored in the
``users`` table (``dianhua users add``) or in the configuration's ``[web.users]`` table.

Parameters follow the OWASP Password Storage Cheat Sheet: N = 2^17, r = 8, p = 1 (128 MiB
per check). A hash made with other parameters still verifies and is replaced at the next
successful sign-in (:func:`needs_rehash`). At most :data:`PARALLEL` checks run at once per
process, so a burst of sign-ins cannot take more than ``PARALLEL`` × 128 MiB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading

SCHEME = "scrypt"
OWASP = (2**17, 8, 1)  # N, r, p: OWASP Password Storage Cheat Sheet (scrypt)
N, R, P = OWASP
SALT_BYTES = 16
KEY_BYTES = 32
MAX_MEMORY = 512 * 1024 * 1024  # refuse parameters from a hand-edited configuration needing more
PARALLEL = 2
MAX_PASSWORD_BYTES = 1024
_GATE = threading.BoundedSemaphore(PARALLEL)


def _maxmem(n: int, r: int, p: int) -> int:
    """What OpenSSL's scrypt needs for these parameters, plus a margin."""
    return 128 * r * (n + 2) + 128 * r * p + (1 << 20)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    with _GATE:
        return hashlib.scrypt(password.encode("utf-8")[:MAX_PASSWORD_BYTES], salt=salt, n=n, r=r,
                              p=p, maxmem=_maxmem(n, r, p), dklen=dklen)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new salted scrypt hash of ``password``."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    key = _scrypt(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def is_hash(text: str) -> bool:
    """True when ``text`` looks like a hash this module made (for config checks)."""
    return _parse(text) is not None


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or not key:
        return None
    if _maxmem(n, r, p) > MAX_MEMORY:
        return None
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; False for a wrong password or a bad hash."""
    parsed = _parse(encoded or "")
    if parsed is None:
        return False
    n, r, p, salt, key = parsed
    try:
        candidate = _scrypt(password, salt, n, r, p, len(key))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, key)


def needs_rehash(encoded: str) -> bool:
    """True when a (valid) hash was made with parameters other than today's."""
    parsed = _parse(encoded or "")
    return parsed is not None and (parsed[0], parsed[1], parsed[2]) != (N, R, P)


_DUMMIES: dict[tuple[int, int, int], str] = {}


def burn_time(password: str) -> None:
    """Spend one verification's worth of time (for unknown user names): a check against a hash
    nobody's password matches, made with today's parameters."""
    params = (N, R, P)
    dummy = _DUMMIES.get(params)
    if dummy is None:
        dummy = _DUMMIES[params] = hash_password("\x00 no such user \x00",
                                                 salt=b"dianhua-dummy-salt")
    verify_password(password, dummy)


__all__ = ["MAX_PASSWORD_BYTES", "burn_time", "hash_password", "is_hash", "needs_rehash",
           "verify_password"]
