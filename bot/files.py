"""Files that may hold personal data: created 0600, in folders created 0700.

The command line sets ``umask 077`` at entry (:func:`private_umask`), so everything dianhua
creates (the database and its ``-wal``/``-shm``, logs and their rotations, exports) is readable
by its owner only. The helpers here also set the modes explicitly, for library use and for files
that existed before: :func:`private_dir` creates missing folders 0700 (an existing folder keeps
its mode: the systemd unit's ``StateDirectoryMode``/``LogsDirectoryMode`` take care of those),
:func:`private_file` makes a file 0600.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_umask() -> int:
    """Set the process umask to 077; returns the previous one."""
    return os.umask(0o077)


def private_dir(path: str | Path) -> Path:
    """Create ``path`` and any missing parents with mode 0700."""
    p = Path(path)
    missing = []
    for parent in [p, *p.parents]:
        if parent.exists():
            break
        missing.append(parent)
    p.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for created in missing:
        try:
            os.chmod(created, DIR_MODE)  # mkdir's mode is filtered by the umask
        except OSError:
            pass
    return p


def private_file(path: str | Path) -> None:
    """Make an existing file 0600 (if we may); a missing file is left alone."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700 | FILE_MODE)
    except OSError:
        pass


def open_private(path: str | Path, *, newline: str | None = None) -> IO[str]:
    """Open ``path`` for writing (UTF-8) as a 0600 file, in a 0700 folder if it is new."""
    p = Path(path)
    private_dir(p.parent)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    private_file(p)
    return os.fdopen(fd, "w", encoding="utf-8", newline=newline)


__all__ = ["open_private", "private_dir", "private_file", "private_umask"]
