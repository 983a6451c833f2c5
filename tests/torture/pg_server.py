"""A PostgreSQL server of a test's own, which the test may stop and start again (a database
restart in the middle of a torture run). Debian's binaries (``/usr/lib/postgresql/*/bin``, or
``initdb`` on the PATH); as root the cluster runs as the ``postgres`` user, like
scripts/pg-test-cluster.sh does. Durability is off: a throw-away cluster for tests only."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def bindir() -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: [int(x) for x in Path(d).parent.name.split(".") if x.isdigit()])
    for d in reversed(dirs):
        if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            return d
    initdb = shutil.which("initdb")
    return str(Path(initdb).parent) if initdb and shutil.which("pg_ctl") else None


def why_not() -> str:
    """Why no server can be started here ('' when one can)."""
    if bindir() is None:
        return "PostgreSQL is not installed (sudo apt-get install postgresql)"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and there is no runuser"
    return ""


class PgServer:
    def __init__(self) -> None:
        self.bin = bindir() or ""
        self.run: list[str] = []
        owner = None
        if os.geteuid() == 0:
            self.run, owner = ["runuser", "-u", "postgres", "--"], "postgres"
        self.tmp = Path(tempfile.mkdtemp(prefix="dianhua-torture-pg."))
        os.chmod(self.tmp, 0o700)
        if owner:
            shutil.chown(self.tmp, owner)
        self.data = self.tmp / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._cmd("initdb", "-D", str(self.data), "-U", "dianhua", "--auth=trust", "-E", "UTF8",
                  "--no-locale")
        self.start()
        self._cmd("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "dianhua", "torture")
        self.url = f"postgresql://dianhua@127.0.0.1:{self.port}/torture"
        self.restarts = 0

    def _cmd(self, tool: str, *args: str) -> None:
        subprocess.run([*self.run, f"{self.bin}/{tool}", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> None:
        self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "server.log"), "-w",
                  "-t", "60", "start", "-o",
                  f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 "
                  "-c max_connections=200 -c fsync=off -c synchronous_commit=off "
                  "-c full_page_writes=off")

    def crash(self) -> None:
        """Stop at once, like a crash: every connection drops, nothing is shut down cleanly."""
        self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self, down_seconds: float = 2.0) -> None:
        """A crash, ``down_seconds`` without a server (the replicas find it gone), a start."""
        self.crash()
        time.sleep(down_seconds)  # the outage itself, not a wait for something to happen
        self.start()
        self.restarts += 1

    def close(self) -> None:
        try:
            self.crash()
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


__all__ = ["PgServer", "bindir", "why_not"]
