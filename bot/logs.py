"""loguru, configured once, at the entry point.

Two sinks: a readable one on stderr and (optionally) JSON lines with rotation in a file.
A patcher masks phone and ID numbers in every message and every ``extra`` value before any
sink sees the record, so personal data cannot reach a log whatever a module writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from loguru import logger

from bot import pii
from bot.files import private_dir, private_file


def _mask_record(record: Any) -> None:
    record["message"] = pii.mask(record["message"])
    for key, value in list(record["extra"].items()):
        if isinstance(value, str):
            record["extra"][key] = pii.mask(value)
    exc = record.get("exception")
    if exc is not None and exc.value is not None:
        masked = pii.mask(str(exc.value))
        if masked != str(exc.value):
            record["exception"] = exc._replace(value=type(exc.value)(masked)) \
                if _rebuildable(exc.value) else None


def _rebuildable(value: BaseException) -> bool:
    try:
        type(value)("x")
    except Exception:
        return False
    return True


def setup(
    *,
    level: str = "INFO",
    file: Path | None = None,
    rotation: str = "20 MB",
    retention: int = 10,
    stderr: bool = True,
) -> None:
    """Configure every sink. Call once per process, from the CLI."""
    logger.remove()
    logger.configure(patcher=_mask_record)
    if stderr:
        logger.add(
            sys.stderr,
            level=level,
            format="<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> {message}",
            backtrace=False,
            diagnose=False,
        )
    if file is not None:
        private_dir(file.parent)  # 0700; the file (and each rotation) 0600 under umask 077
        logger.add(
            str(file),
            level=level,
            serialize=True,
            rotation=rotation,
            retention=retention,
            encoding="utf-8",
            enqueue=True,
            backtrace=False,
            diagnose=False,
        )
        private_file(file)


__all__ = ["setup"]
