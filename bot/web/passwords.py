"""Password hashes for the desk: salted scrypt (hashlib), encoded as one string.

Format: ``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>``. Hashes are stored in the
``users`` table (``dianhua users add``) or in the configuration's ``[web.users]`` table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024
_MAX_N = 2**20  # refuse absurd parameters from a hand-edited configuration


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new salted scrypt hash of ``password``."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    key = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=N, r=R, p=P, maxmem=_MAXMEM, dklen=KEY_BYTES
    )
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
    if n < 2 or n > _MAX_N or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or not key:
        return None
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; False for a wrong password or a bad hash."""
    parsed = _parse(encoded or "")
    if parsed is None:
        return False
    n, r, p, salt, key = parsed
    try:
        candidate = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(key)
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, key)


# A hash nobody's password matches: verifying against it costs the same time as a real check,
# so a missing user and a wrong password take equally long.
_DUMMY = hash_password("\x00 no such user \x00", salt=b"dianhua-dummy-salt")


def burn_time(password: str) -> None:
    """Spend one verification's worth of time (for unknown user names)."""
    verify_password(password, _DUMMY)


__all__ = ["burn_time", "hash_password", "is_hash", "verify_password"]
