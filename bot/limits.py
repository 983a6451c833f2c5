"""Bounded input: every file and line dianhua reads has a size and depth limit.

A hostile or broken file (a 10-million-character line, ``/dev/zero``, a JSON value nested
100,000 deep) gets a clear error naming the file and line, in bounded memory and time, never a
``MemoryError`` or ``RecursionError``.

* :func:`read_file` reads a whole small file (rules, configuration, keyword lists) up to
  :data:`MAX_FILE_BYTES`.
* :func:`lines` reads a JSON Lines stream line by line, each at most :data:`MAX_LINE_CHARS`;
  a longer line is reported and skipped, and a "line" that runs past :data:`MAX_RUN_CHARS`
  without a line break ends the read (it is not a JSON Lines file).
* :func:`loads` is ``json.loads`` that refuses values nested deeper than :data:`MAX_JSON_DEPTH`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bot.errors import InputError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_LINE_CHARS = 100_000
MAX_RUN_CHARS = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64


def read_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``; :class:`InputError` when it holds more than ``max_bytes``."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{path}: larger than {max_bytes // 1024} KiB; this is not the file "
                         "you meant (or split it)")
    return data


def lines(fh: IO[str], *, name: str, max_chars: int = MAX_LINE_CHARS
          ) -> Iterator[tuple[int, str | None, str | None]]:
    """``(line number, text, problem)`` for each line; ``text`` is None when ``problem`` says
    why the line was skipped. Raises :class:`InputError` for a line with no end in sight."""
    number = 0
    while True:
        chunk = fh.readline(max_chars + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) <= max_chars or chunk.endswith("\n"):
            yield number, chunk, None
            continue
        seen = len(chunk)
        while True:
            more = fh.readline(1 << 20)
            if not more or more.endswith("\n"):
                seen += len(more)
                break
            seen += len(more)
            if seen > MAX_RUN_CHARS:
                raise InputError(
                    f"{name}:{number}: more than {MAX_RUN_CHARS:,} characters without a line "
                    "break: this is not a JSON Lines file")
        yield number, None, f"line too long ({seen:,} characters, at most {max_chars:,})"


def _depth_ok(text: str, limit: int) -> bool:
    """True unless brackets outside strings nest deeper than ``limit`` (a cheap upper bound)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` with a nesting limit; raises ``ValueError`` with a plain message."""
    if not _depth_ok(text, max_depth):
        raise ValueError(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - _depth_ok catches it first
        raise ValueError(f"nested more than {max_depth} levels deep") from None


__all__ = ["MAX_FILE_BYTES", "MAX_JSON_DEPTH", "MAX_LINE_CHARS", "lines", "loads", "read_file"]
