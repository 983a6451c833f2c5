"""The daemon's lease after a SIGKILL: its child processes may hold the lock file a moment
longer (they inherited it); a restart waits for them instead of refusing to start."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.lease import DatabaseLease, LeaseError

HOLD = ("import fcntl, sys\n"
        "f = open(sys.argv[1], 'a+')\n"
        "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n")


def _holder(lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_restart_waits_for_the_orphans_of_a_killed_daemon(tmp_path: Path) -> None:
    lease = DatabaseLease(tmp_path / "d.db")
    orphan = _holder(lease.path)  # a child of a daemon that is gone
    lease.path.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}),
                          encoding="utf-8")
    got: list[object] = []
    taker = threading.Thread(target=lambda: got.append(lease.acquire()))
    taker.start()
    assert orphan.stdin is not None
    orphan.stdin.close()  # the orphan notices its parent is gone and exits
    orphan.wait()
    taker.join()
    assert got == [lease] and lease.held
    lease.release()


def test_a_running_daemon_still_refuses_a_second_one_at_once(tmp_path: Path) -> None:
    lease = DatabaseLease(tmp_path / "d.db")
    other = _holder(lease.path)
    lease.path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}),
                          encoding="utf-8")
    try:
        with pytest.raises(LeaseError, match="already running"):
            lease.acquire()
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait()


def test_the_sender_has_a_lock_file_of_its_own(tmp_path: Path) -> None:
    daemon = DatabaseLease(tmp_path / "d.db").acquire()
    sender = DatabaseLease(tmp_path / "d.db", "sender").acquire()
    assert sender.path.name == "d.db.sender.lock" and daemon.held and sender.held
    sender.release()
    daemon.release()
