"""One daemon per database: an exclusive lock on ``<database>.lock`` for the daemon's lifetime.

``DatabaseLease(path).acquire()`` takes an ``flock`` on the file next to the database and writes
who holds it (pid, host, start time) into it. The kernel drops the lock when the process ends,
however it ends (SIGKILL included), so a stale file never blocks a restart. A second daemon on
the same database gets a :class:`LeaseError` naming the holder, and exits before it polls.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Any

from bot.clock import iso, utcnow
from bot.errors import DianhuaError

ORPHAN_GRACE_SECONDS = 10.0


class LeaseError(DianhuaError):
    """Another daemon already runs on this database."""


class DatabaseLease:
    """``name`` gives a second lease on the same database its own file (``<database>.<name>.lock``):
    the sender process holds ``sender`` (bot/send_process.py)."""

    def __init__(self, db: str | Path, name: str = "") -> None:
        self.db = Path(db)
        self.path = self.db.with_name(self.db.name + (f".{name}" if name else "") + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> DatabaseLease:
        """Take the lease, or raise :class:`LeaseError` naming the daemon that holds it."""
        if self._file is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            file = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 — held until release
        except OSError as exc:
            raise LeaseError(f"cannot create the lock file {self.path}: "
                             f"{exc.strerror or exc}") from exc
        try:
            self._lock(file)
        except OSError as exc:
            holder = _describe(self.holder())
            file.close()
            raise LeaseError(
                f"another dianhua daemon{holder} is already running on the database {self.db}; "
                "stop it first (systemctl stop dianhua), or give this one its own database "
                "([storage] db or DIANHUA_DB)"
            ) from exc
        file.seek(0)
        file.truncate()
        file.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                               "started_at": iso(utcnow())}, ensure_ascii=False) + "\n")
        file.flush()
        self._file = file
        return self

    def _lock(self, file: IO[str]) -> None:
        """The lock, at once; or, when the daemon that held it is gone (SIGKILL) and only its
        child processes still hold the file for a moment (each exits within a second of its
        parent's death), as soon as they have exited."""
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        while True:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError:
                holder = self.holder()
                elsewhere = holder.get("host") not in (None, socket.gethostname())
                if elsewhere or _alive(holder.get("pid")) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def holder(self) -> dict[str, Any]:
        """Who holds (or last held) the lease, as written in the lock file."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def release(self) -> None:
        if self._file is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None


def _alive(pid: Any) -> bool:
    """Whether ``pid`` (as written in the lock file) is a running process; unknown → True."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _describe(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return ""
    return f" (pid {holder['pid']} on {holder.get('host', '?')}, since {holder.get('started_at', '?')})"


__all__ = ["DatabaseLease", "LeaseError"]
